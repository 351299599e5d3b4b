from w2v.cli import main

raise SystemExit(main())
