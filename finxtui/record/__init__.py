"""Recording and replay: normalized events to durable CSV files, and back.

* :mod:`finxtui.record.schema`: the file layout and the columns of each kind (the format users rely on).
* :mod:`finxtui.record.writer`: :class:`~finxtui.record.writer.Recorder`, the durable appender.
* :mod:`finxtui.record.replay`: :func:`~finxtui.record.replay.replay_events`, a recording as events again.
* :mod:`finxtui.record.cli`: ``finx-tui record`` and ``finx-tui replay``.

Nothing here imports textual (the replay command imports the UI lazily).
"""

from finxtui.record.schema import RecordingError

__all__ = ["RecordingError"]
