"""``python -m activellm_modal`` runs the command line."""

from activellm_modal.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
