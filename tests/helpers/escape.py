#!/usr/bin/python3
"""Escape attempts, run as the sandboxed user by tests/integration/test-exec.sh.

Usage: escape.py NAME [ARG]   Prints one line and exits 0 when the attempt
was refused with the expected errno, 1 when it was not.  x86_64 numbers.
"""
import ctypes
import errno
import os
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)
SYS = {"bpf": 321, "keyctl": 250, "perf_event_open": 298, "userfaultfd": 323,
       "open_by_handle_at": 304, "kexec_load": 246, "init_module": 175, "reboot": 169,
       "swapon": 167, "acct": 163, "iopl": 172, "process_vm_readv": 310, "pivot_root": 155,
       "clone3": 435, "setns": 308, "unshare": 272, "ptrace": 101, "mount": 165,
       "chroot": 161, "add_key": 248, "ioperm": 173}


def syscall(name, *args):
    r = libc.syscall(SYS[name], *[ctypes.c_long(a) for a in args])
    return r, ctypes.get_errno()


def expect_errno(what, r, err, want):
    if r == -1 and err in want:
        print("refused: %s (%s)" % (what, errno.errorcode[err]))
        return 0
    print("NOT REFUSED: %s returned %d errno %s" % (what, r, errno.errorcode.get(err, err)))
    return 1


def open_attempt(path, flags):
    try:
        fd = os.open(path, flags)
        os.close(fd)
        print("NOT REFUSED: opened %s" % path)
        return 1
    except OSError as e:
        print("refused: open %s (%s)" % (path, errno.errorcode[e.errno]))
        return 0


def main():
    name = sys.argv[1]
    arg = sys.argv[2] if len(sys.argv) > 2 else None
    EPERM = {errno.EPERM}
    if name == "read":
        return open_attempt(arg, os.O_RDONLY)
    if name == "write":
        return open_attempt(arg, os.O_WRONLY | os.O_CREAT)
    if name == "listdir":
        try:
            os.listdir(arg)
            print("NOT REFUSED: listed %s" % arg)
            return 1
        except OSError as e:
            print("refused: list %s (%s)" % (arg, errno.errorcode[e.errno]))
            return 0
    if name == "socket":
        fam, typ, proto = {"packet": (socket.AF_PACKET, socket.SOCK_RAW, 0),
                           "netlink": (socket.AF_NETLINK, socket.SOCK_RAW, 0),
                           "raw": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                           "bluetooth": (31, socket.SOCK_STREAM, 0)}[arg]
        try:
            socket.socket(fam, typ, proto).close()
            print("NOT REFUSED: socket %s" % arg)
            return 1
        except OSError as e:
            return expect_errno("socket " + arg, -1, e.errno, {errno.EPERM, errno.EACCES})
    if name == "ptrace":  # PTRACE_ATTACH to PID 1 of the sandbox
        r, e = syscall("ptrace", 16, 1, 0, 0)
        return expect_errno("ptrace attach", r, e, EPERM)
    if name == "unshare":  # CLONE_NEWUSER
        r, e = syscall("unshare", 0x10000000)
        return expect_errno("unshare(CLONE_NEWUSER)", r, e, EPERM)
    if name == "unshare-net":
        r, e = syscall("unshare", 0x40000000)
        return expect_errno("unshare(CLONE_NEWNET)", r, e, EPERM)
    if name == "setns":
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        r, e = syscall("setns", fd, 0)
        return expect_errno("setns", r, e, EPERM)
    if name == "mount":
        r = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
        return expect_errno("mount", r, ctypes.get_errno(), EPERM)
    if name == "clone3":
        r, e = syscall("clone3", 0, 0)
        return expect_errno("clone3", r, e, {errno.ENOSYS})
    if name in SYS:
        r, e = syscall(name, 0, 0, 0, 0, 0)
        return expect_errno(name, r, e, EPERM)
    print("unknown attempt " + name)
    return 2


sys.exit(main())
