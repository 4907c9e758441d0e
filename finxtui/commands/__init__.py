"""What each command of the command line does, once ``finxtui.cli`` has parsed its flags.

One module a command (``tui``, ``tail``, ``history``, ``record``, ``replay``, ``sim``); each builds its
source from ``finxtui.sources`` and reads events from it. The flags and output shapes are a contract outside
tests rely on (DESIGN.md, command-line contract).
"""
