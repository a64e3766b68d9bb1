"""What runs inside every forked worker, one-call or model host: its own temp folder, the request size
cap, and one request turned into a reply dict that never raises (a bug becomes an "internal" reply).

The zygote (zygote.py) forks workers and cleans their folders; a model host (host_worker.py) serves
many requests: both use these, so neither imports the other's process loop.
"""

from __future__ import annotations

import os
import traceback

REQUEST_MAX_BYTES = 2**31


def workdir(pid: int) -> str:
    return os.path.join(os.environ["HOME"], f"w{pid}")


ALLOC_FAILURES = ("bad_alloc", "Failed to allocate", "out of memory", "Cannot allocate memory")


def run_request(request: dict, call=None) -> dict:
    """{"ok": call(request)} or {"error": kind, "message": ...}; never raises. `call`
    defaults to running a whitelisted task (tasks.py)."""
    from qviz.model import ModelError
    from qviz.quant.spec import SpecError

    try:
        return {"ok": (call or _call)(request)}
    except MemoryError:
        return {"error": "memory"}
    except (ModelError, SpecError) as e:
        text = str(e)
        if any(s in text for s in ALLOC_FAILURES):
            return {"error": "memory"}
        return {"error": "model" if isinstance(e, ModelError) else "spec", "message": text}
    except Exception as e:  # noqa: BLE001 - a bug in qviz: the server logs the detail, the user gets a short message
        return {"error": "internal", "type": type(e).__name__, "detail": traceback.format_exc(limit=8)}


def _call(request: dict):
    from qviz.worker.tasks import run_task

    return run_task(request["task"], request["args"])
