"""test_acceptloop.py: the test servers' accept loop (acceptloop.py) ends
and closes its listener from its own thread, so a later server that gets
the same fd number never loses connections to a stale thread."""

import signal
import socket
import threading

from acceptloop import AcceptLoop


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def test_stop_ends_the_thread_and_closes_the_listener():
    s = listener()
    loop = AcceptLoop(s, lambda c, _p: c.close()).start()
    assert loop.stop(timeout=5) and s.fileno() == -1
    assert loop.stop(timeout=5)  # twice is fine


def test_unstarted_loop_closes_its_listener():
    s = listener()
    assert AcceptLoop(s, lambda c, _p: c.close()).stop() and s.fileno() == -1


def test_next_server_on_the_same_fd_number_gets_every_connection():
    """The hazard: a stale accept() restarted after a signal on a reused
    fd number. Signals arrive (a handler with SA_RESTART, as SIGCHLD gets
    under some runners) while a first server stops and a second takes the
    same number: all of the second's connections reach the second. (With
    the listener closed from outside instead, the first loop's thread,
    signalled like this, takes some of them.)"""
    old = signal.signal(signal.SIGUSR1, lambda *_: None)
    signal.siginterrupt(signal.SIGUSR1, False)
    try:
        first_got, second_got = [], []
        a = listener()
        number = a.fileno()
        first = AcceptLoop(a, lambda c, _p: (first_got.append(1), c.close())).start()
        stop_signals = threading.Event()

        def pester():  # at the first loop's thread, while it lives
            while not stop_signals.wait(0.002):
                try:
                    signal.pthread_kill(first._thread.ident, signal.SIGUSR1)
                except (ProcessLookupError, OSError):
                    pass

        t = threading.Thread(target=pester, daemon=True)
        t.start()
        assert first.stop()
        b = listener()
        assert b.fileno() == number  # the number the first one freed
        done = threading.Event()

        def took(c, _p):
            second_got.append(c.recv(16))
            c.close()
            if len(second_got) == 50:
                done.set()

        second = AcceptLoop(b, took).start()
        for i in range(50):
            with socket.create_connection(b.getsockname(), timeout=5) as c:
                c.sendall(b"%d" % i)
        assert done.wait(10), second_got
        stop_signals.set()
        t.join()
        assert second.stop() and first_got == [] and sorted(second_got) == sorted(b"%d" % i for i in range(50))
    finally:
        signal.signal(signal.SIGUSR1, old)
