"""Developer tool: autogenerate an Alembic revision from the models, then format it.

.venv/bin/python tools/make_migration.py "message" 0002
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from billow.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade


def main() -> None:
    message, rev_id = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gen.db"
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True, rev_id=rev_id)
    new = sorted((MIGRATIONS_DIR / "versions").glob(f"{rev_id}_*.py"))
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--fix", "-q", *map(str, new)], cwd=root, check=False
    )
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", *map(str, new)], cwd=root, check=False)
    print("\n".join(map(str, new)))


if __name__ == "__main__":
    main()
