"""What a private local Ray writes, and where: a temporary directory and a token.

A local Ray that asynclab starts for a run (one node, or a head and worker
nodes) keeps everything it writes in a short-lived temporary directory,
removed when the block ends. Unless the environment already sets Ray's
authentication, it also gets a random token that lives in the environment of
this process (and of the Ray processes it starts), so nothing is written to
the home directory. The environment is restored afterwards.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile

AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


@contextlib.contextmanager
def private_environment(*, ray_tmpdir=False):
    """Yields a fresh temporary directory, with Ray's authentication set up.

    ``ray_tmpdir=True`` also points ``RAY_TMPDIR`` there: Ray's default
    directory (``/tmp/ray``) then lies inside it too, which matters for
    ``ray.cluster_utils.Cluster``, whose head writes the cluster's address to
    ``RAY_TMPDIR/ray/ray_current_cluster`` whatever temporary directory it is given.
    """
    temp_dir = tempfile.mkdtemp(prefix="asynclab-ray-", dir=_short_temp_root())
    names = AUTH_VARIABLES + ("RAY_TMPDIR",)
    saved = {name: os.environ.get(name) for name in names}
    try:
        if not any(saved[name] for name in AUTH_VARIABLES):
            # Token authentication without ~/.ray/auth_token: the local GCS listens
            # on every interface, so it gets a random token that lives in the
            # environment of this process (and the Ray processes it starts).
            os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
        if ray_tmpdir:
            os.environ["RAY_TMPDIR"] = temp_dir
            os.mkdir(os.path.join(temp_dir, "ray"))
        reload_auth()
        yield temp_dir
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reload_auth()
        shutil.rmtree(temp_dir, ignore_errors=True)


def object_store_bytes(nbytes):
    """Object store of a local Ray node for a run whose actors hold ``nbytes`` of parameters."""
    return max(128 << 20, 16 * nbytes)


def reload_auth():
    """Make Ray re-read its authentication settings from the environment
    (it caches them when first imported)."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config
    except ImportError:          # a Ray without token authentication
        return
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _short_temp_root():
    # Ray's unix sockets live under its temp dir; their paths must fit ~107 bytes.
    root = tempfile.gettempdir()
    return root if len(root) <= 40 else "/tmp"
