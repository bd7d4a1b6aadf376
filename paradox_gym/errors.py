"""Exceptions that describe a user's mistake (bad argument, missing file) rather than a bug.

Command-line entry points print these as one line (``error: ...``) and exit with status 2, with no
traceback. Each inherits from the builtin a Python user would expect (``ValueError``, ``TypeError``,
``FileNotFoundError``) so library code can be caught the usual way.
"""

from __future__ import annotations


class ParadoxGymError(Exception):
    """Base class of every user-facing error raised by paradox_gym."""


class UserInputError(ParadoxGymError, ValueError):
    """A value given by the user is not valid; the message names it and the valid choices."""


class UserTypeError(ParadoxGymError, TypeError):
    """An object of the wrong kind was given (for example a method applied to a non-SB3 model)."""


class AgentNotFoundError(ParadoxGymError, FileNotFoundError):
    """No agent (checkpoint) exists for the requested algorithm and environment."""


class UnsafeAgentError(ParadoxGymError, ValueError):
    """An agent file cannot be rebuilt without executing code stored inside it."""


class MethodNotApplicable(UserInputError):
    """A compression method that cannot apply to this agent (``prune-structured`` on a gSDE policy, ``ptsq``
    on an activation it cannot quantize); an evaluation skips it with this reason unless ``strict``."""


class EnvironmentFault(ParadoxGymError, RuntimeError):
    """An environment broke its contract during a rollout (a reward that is not a real number, an
    observation of the wrong shape, a malformed ``step`` result); the message names the environment, the
    step, the episode's seed and what was wrong."""
