from w2v.apps.cli import main

raise SystemExit(main())
