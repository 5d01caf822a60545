"""acceptloop.py: the accept() loop of every in-process test server.

The tests' servers run as threads inside the pytest process, one after
another, so a socket number freed by one test is soon the next test's
listener. A thread blocked in accept(fd) that a signal interrupts (the
suite starts thousands of child processes: SIGCHLD, and ptrace under
strace) has its call restarted by the kernel with the same fd *number*;
if another thread closed that socket meanwhile, the restarted accept()
takes the next test's connections, and its handler answers or drops
them: a client then sees answers its own server never gave. Seen as
rare failures of the JS client tests after test_engine_contracts.

So a listener is closed only by the thread that accepts on it: stop()
shuts it down (which wakes the blocked accept() with EINVAL), waits for
the thread, and the thread closes the socket on its way out. The same
rule holds for connection sockets: a server's own thread closes them;
from outside they are only shut down.
"""

import errno
import socket
import threading
import time


class AcceptLoop:
    """Calls on_conn(sock, peer) in its own thread for every connection
    accepted on listener (bound and listening) until stop(). on_conn runs
    on the loop thread: start a thread there for slow work. A failed
    accept() (Linux passes on errors of one pending connection:
    ECONNABORTED, EPROTO …, and EMFILE for a moment) is recorded in
    `errors` and the loop goes on; only stop() ends it."""

    def __init__(self, listener, on_conn, name="accept-loop"):
        self.listener, self.on_conn = listener, on_conn
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout=5.0):
        """Ends the loop and closes the listener (from the loop's thread).
        Idempotent; returns whether the thread ended within timeout."""
        self._stop.set()
        if self._thread.ident is None:
            self.listener.close()  # never started: nobody else has it
            return True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already shut down or closed by the loop
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self):
        try:
            while not self._stop.is_set():
                try:
                    s, peer = self.listener.accept()
                except OSError as e:
                    if self._stop.is_set() or e.errno in (errno.EBADF, errno.EINVAL):
                        return
                    self.errors.append(repr(e))
                    time.sleep(0.01)
                    continue
                if self._stop.is_set():
                    s.close()
                    return
                self.on_conn(s, peer)
        finally:
            self.listener.close()
