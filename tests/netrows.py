"""netrows.py: the ways the Hub can be out of reach, each made inside a
network namespace of one's own with the real Hub names (nothing can leave
it: its only interfaces are lo and, for dropped packets, a veth pair whose
two ends are both inside). Used by tests/test_reach.py and bench/bench.py.
ns_argv(row, tdir, cmd) runs cmd there (a pid namespace too: the row's
server dies with it) and prints, after it, the namespace's interfaces
("@@ifaces ...") and the packets sent through the veth ("@@tx N")."""

import os
import textwrap

PY = "/usr/bin/python3"
HUB_NAMES = "huggingface.co cdn-lfs.huggingface.co cdn-lfs-us-1.hf.co"

SETUP = {
    "nonet": "ip link set lo up\n",
    "offline": "ip link set lo up\n",
    "drop": textwrap.dedent(f"""\
        ip link set lo up
        # no IPv6 on the veth: the kernel's own router/neighbour messages would count as traffic
        echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
        ip link add v0 type veth peer name v1
        ip addr add 10.99.0.1/24 dev v0; ip link set v0 up; ip link set v1 up
        ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02 dev v0
        echo "10.99.0.2 {HUB_NAMES}" > "$T/hosts"; mount --bind "$T/hosts" /etc/hosts
        """),
    "refused": textwrap.dedent(f"""\
        ip link set lo up
        echo "127.0.0.1 {HUB_NAMES}" > "$T/hosts"; mount --bind "$T/hosts" /etc/hosts
        """),
    "stall": textwrap.dedent(f"""\
        ip link set lo up
        echo "127.0.0.1 {HUB_NAMES}" > "$T/hosts"; mount --bind "$T/hosts" /etc/hosts
        {PY} -c 'import socket,time
        s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 443)); s.listen(64)
        open("'"$T"'/ready","w").close(); keep=[]
        while True: keep.append(s.accept())' &
        while [ ! -e "$T/ready" ]; do sleep 0.02; done
        """),
}
# a resolver that never answers: /etc/resolv.conf names 127.0.0.1, where
# a UDP socket swallows every query (glibc then waits 5 s x 2 tries)
SETUP["dnshang"] = textwrap.dedent(f"""\
    ip link set lo up
    echo "nameserver 127.0.0.1" > "$T/resolv.conf"; mount --bind "$T/resolv.conf" /etc/resolv.conf
    {PY} -c 'import socket
    s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
    open("'"$T"'/ready","w").close()
    while True: s.recv(4096)' &
    while [ ! -e "$T/ready" ]; do sleep 0.02; done
    """)
# a plain-HTTP endpoint (HF_ENDPOINT=http://huggingface.co) that accepts,
# reads the request and never answers
SETUP["silent"] = SETUP["stall"].replace('("127.0.0.1", 443)', '("127.0.0.1", 80)')
# one that reads the request and resets the connection (RST, no answer)
SETUP["reset"] = SETUP["silent"].replace(
    "while True: keep.append(s.accept())",
    "while True:\n c=s.accept()[0]; c.recv(65536); c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, "
    "bytes([1,0,0,0,0,0,0,0])); c.close()")

# Runs "$@" after the row's set-up, then reports what the namespace holds
# and what left through the veth (packets sent to 10.99.0.2).
SCRIPT = """\
set -e
mount -t sysfs sysfs /sys  # this namespace's interfaces, not the machine's
{setup}
set +e
"$@"
rc=$?
echo "@@ifaces $(ls /sys/class/net | tr '\\n' ' ')"
[ -e /sys/class/net/v0 ] && echo "@@tx $(cat /sys/class/net/v0/statistics/tx_packets)"
exit $rc
"""



def ns_argv(row, tdir, cmd):
    """The argv that runs cmd in a fresh namespace set up as row; tdir is a
    folder of the caller's (the script and the private /etc/hosts go there;
    the environment must carry T=tdir)."""
    script = os.path.join(str(tdir), "ns-%s.sh" % row)
    with open(script, "w") as f:
        f.write(SCRIPT.format(setup=SETUP[row]))
    return ["unshare", "-mnpf", "--kill-child", "--mount-proc", "sh", script, *map(str, cmd)]
