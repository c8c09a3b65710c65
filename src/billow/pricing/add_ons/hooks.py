"""What the packages built on add-ons do for them (wired by ``billow.runtime.build_hooks``).

Plans' fixed charges point to add-ons and plans import add-ons, so add-ons cannot import plans:
they react through these callbacks instead (see ``billow.core.hooks``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from billow.db.context import Ctx

AddOnAction = Callable[[Ctx, uuid.UUID], object]


@dataclass(frozen=True)
class AddOnHooks:
    """``on_delete``: run in the deleting transaction once the add-on is soft deleted (Lago
    deletes the add-on's fixed charges with it)."""

    on_delete: tuple[AddOnAction, ...] = ()
