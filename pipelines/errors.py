"""User-facing errors: anything the user can fix ends as one plain sentence and a non-zero exit."""


class UserError(Exception):
    """A mistake in input, arguments or environment; str(err) is the one sentence the user sees.

    Never put a raw identifier or a raw export value in the message (docs/privacy.md).
    """
