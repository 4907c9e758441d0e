"""The simulator's core: the machinery every venue shares, and nothing venue-specific.

- :mod:`~finxtui.sim.core.clock`: the venues' clock (the event loop's, or a manual one a test advances);
- :mod:`~finxtui.sim.core.pump`: moves the market at its rate and runs the timers;
- :mod:`~finxtui.sim.core.dispatch`: publishes a batch of market events to listeners and subscribers;
- :mod:`~finxtui.sim.core.subscriptions`: who hears what (typed subscribers, market-wide listeners);
- :mod:`~finxtui.sim.core.window`: the top-N window of a book that depth subscribers share;
- :mod:`~finxtui.sim.core.outbox`: corked writes and the slow-consumer limit;
- :mod:`~finxtui.sim.core.connection`: the base of one client socket;
- :mod:`~finxtui.sim.core.context`: the narrow context a venue gets instead of the simulator;
- :mod:`~finxtui.sim.core.venue`: the base of a venue's shared state;
- :mod:`~finxtui.sim.core.recent`: a venue's latest trades;
- :mod:`~finxtui.sim.core.faults`: fault injection and chaos;
- :mod:`~finxtui.sim.core.tasks`: background tasks kept until the simulator stops.
"""
