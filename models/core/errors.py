"""The one exception type for bad user input (files, settings, names).

The CLI turns it into exit code 2 and a single line on stderr; the app shows its
message in an `st.error`. Anything else that escapes is a bug.
"""


class InputError(ValueError):
    """A user-facing problem with input: the message is shown as is."""
