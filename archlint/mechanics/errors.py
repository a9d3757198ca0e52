"""An exception as one line in the user's terms: its first line, where in the user's code, and what that code
tried to do (a download, a missing file, a prompt) when the cause says so."""
from __future__ import annotations

import os

from archlint.mechanics.installed import refused_call
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.frames import innermost_frame, user_frame_suffix


def first_line(exc: BaseException, default: str = "") -> str:
    """An exception's message, first line only (fx and torch append tracebacks and hints to theirs)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else default


def describe_exception(exc: BaseException) -> str:
    """`TypeError: first line of the message`."""
    message = first_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def explain_user_error(exc: BaseException) -> str | None:
    """What the user's code tried to do, in their terms, for the failures real repositories meet most
    (a download, a file read, a prompt, a misordered super().__init__()); None when there is nothing to add."""
    found = causes(exc)
    if Cause.MISSING_FILE in found:
        return f"it reads {str(exc.filename)!r}, which does not exist here (relative paths are read from {os.getcwd()})"  # type: ignore[attr-defined]
    if Cause.NETWORK in found:
        url = _downloaded_url(exc)
        what = f"it downloads {url}" if url else "it opens a network connection"
        # the sandbox's own refusal (archlint.load.sandbox.NetworkRefused) is not a failed connection
        refused = any(cls.__name__ == "NetworkRefused" for cls in type(exc).__mro__)
        how = "" if refused else " and could not reach it"
        return (f"{what}{how}; build it without pretrained weights (weights=None, "
                "pretrained=False) to lint the architecture")
    if Cause.TERMINAL_INPUT in found:
        return ("it asks for input on the terminal (input()) and archlint gives it none; use a default value "
                "or a command-line flag instead")
    if Cause.LAYER_BEFORE_INIT in found:
        return "it assigns a layer before calling super().__init__(); call super().__init__() first"
    changed = changed_library_text(exc)
    if changed is not None:
        return changed
    if Cause.BARE_ASSERT in found:
        frame = innermost_frame(exc.__traceback__)
        if frame is not None and frame.line:
            return f"`{frame.line.strip()}` failed"
    return None


def changed_library_text(exc: BaseException) -> str | None:
    """What to do when the installed version of a library refuses the arguments the code gives it; else None."""
    refused = refused_call(exc)
    if refused is None:
        return None
    return (f"the installed {refused.installed} does not take the arguments the code gives {refused.called}: the "
            f"code was written for another version of {refused.installed.split()[0]}; install the version the "
            "repository was written for")


def user_error_text(exc: BaseException) -> str:
    """`KeyError: 'dim' at net.py:8`, then what the user's code tried to do when that is known."""
    explanation = explain_user_error(exc)
    return f"{describe_exception(exc)}{user_frame_suffix(exc)}" + (f": {explanation}" if explanation else "")


def missing_relative_path(exc: BaseException | None) -> str | None:
    """The relative path a FileNotFoundError (or one it was raised from) could not open, or None: where the code
    was run from decides whether it exists."""
    while exc is not None:
        name = getattr(exc, "filename", None) if isinstance(exc, FileNotFoundError) else None
        if isinstance(name, str) and name and not os.path.isabs(name):
            return name
        exc = exc.__cause__ or exc.__context__
    return None


def _downloaded_url(exc: BaseException) -> str | None:
    """The `url` a failed download was fetching (torch.hub, urllib and requests keep it in a local)."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        value = tb.tb_frame.f_locals.get("url")
        if isinstance(value, str) and "://" in value:
            found = found or value
        tb = tb.tb_next
    return found
