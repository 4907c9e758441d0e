"""Recording and replay: normalized events to durable CSV files, and back.

Writing:

* :mod:`finxtui.record.schema`: the file layout and the columns of each kind (the format users rely on).
* :mod:`finxtui.record.writer`: :class:`~finxtui.record.writer.Recorder`, events to rows (book sequence numbers
  and checkpoints).
* :mod:`finxtui.record.files`: the recorder's files on disk: lock, whole-line writes, fsync, repair on open.

Reading:

* :mod:`finxtui.record.recording`: :class:`~finxtui.record.recording.Recording`, a directory's files, its time
  span and ``--from``.
* :mod:`finxtui.record.rows`: CSV rows to records, checked, merged across files in receive order.
* :mod:`finxtui.record.pacing`: :class:`~finxtui.record.pacing.ReplayControl`, the replay's clock (speed, pause).
* :mod:`finxtui.record.replay`: :func:`~finxtui.record.replay.replay_events`, records to events with the books
  rebuilt; it also re-exports what a replay's caller needs.

The commands (``finx-tui record``, ``finx-tui replay``) live in :mod:`finxtui.commands`, and the replay as a
monitor's source in :mod:`finxtui.sources.replay`: both are above this package. Nothing here imports textual,
the feeds, the simulator or the sources: record/ reads events (``finxtui.model``) and writes files.
"""

from finxtui.record.schema import RecordingError

__all__ = ["RecordingError"]
