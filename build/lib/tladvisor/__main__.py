"""`python -m tladvisor ...` is the same as the `tladvisor` console command."""
from tladvisor.cli import main

raise SystemExit(main())
