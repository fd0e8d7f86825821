"""The job pool's DC_* settings (models/core/server_settings.py): a bad value is one line naming the variable."""

from __future__ import annotations

import pytest

from models.core.server_settings import SettingError, check_settings, default_max_jobs, max_jobs_from_env


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1e3", "2.5", "100000", "9" * 5000])
def test_a_bad_dc_max_jobs_is_one_line_naming_the_variable(value):
    with pytest.raises(SettingError) as err:
        max_jobs_from_env({"DC_MAX_JOBS": value})
    message = str(err.value)
    assert message.startswith("DC_MAX_JOBS=") and "\n" not in message and len(message) < 200, message


def test_dc_max_jobs_unset_or_empty_means_half_the_cores():
    assert max_jobs_from_env({}) == max_jobs_from_env({"DC_MAX_JOBS": "  "}) == default_max_jobs()
    assert default_max_jobs(cores=1) == 1 and default_max_jobs(cores=16) == 8
    assert max_jobs_from_env({"DC_MAX_JOBS": " 3 "}) == 3


def test_check_settings_lists_the_pools_problems_one_line_each():
    problems = check_settings({"DC_MAX_JOBS": "abc", "DC_JOBS": "cluster", "DC_WORKER_MEMORY_MB": "12"})
    assert [p.split("=")[0] for p in problems] == ["DC_MAX_JOBS", "DC_JOBS", "DC_WORKER_MEMORY_MB"], problems
    assert all("\n" not in p for p in problems)
    assert check_settings({"DC_MAX_JOBS": "2", "DC_JOBS": "threads"}) == []
