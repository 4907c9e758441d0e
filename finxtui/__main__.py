from finxtui.cli import main

raise SystemExit(main())
