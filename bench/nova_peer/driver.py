"""Drive the Nova peer bench from sriovirt's side.

* :func:`ensure_venv` builds ``bench/.nova-venv`` on demand (``python -m
  venv`` + ``pip install nova==34.0.0`` under
  ``bench/nova-constraints.txt``) and raises :class:`PeerError` with a
  one-line reason when it cannot (no network, no package index).
* :func:`nova_device` / :func:`serialise_devices` turn the workload's
  :class:`~sriovirt.pci.device.HostPciDevice` values into the dicts
  Nova's libvirt driver reports (``nova.virt.libvirt.host.Host.
  _get_pcidev_info``, Nova 34): the tracker input Nova really parses.
* :func:`run_runner` feeds the payload to :mod:`bench.nova_peer.runner`
  under the Nova interpreter and returns its JSON figures.
* :func:`compute_ratios` maps Nova's figures onto the names
  :mod:`bench.bench_match` and :mod:`bench.bench_tracker` produce, per
  workload (:data:`bench.workload.WORKLOADS`) and size.
* :func:`run_peer` does all of it and returns the report's
  ``"nova_peer"`` section.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.workload import (
    EXACT_ADDRESS,
    WORKLOADS,
    build_devices,
    device_spec,
    expected_matches,
)
from sriovirt.pci.device import DevType, HostPciDevice

NOVA_VERSION = "34.0.0"
BENCH_DIR = Path(__file__).resolve().parent.parent
VENV_DIR = BENCH_DIR / ".nova-venv"
CONSTRAINTS = BENCH_DIR / "nova-constraints.txt"
RUNNER = Path(__file__).resolve().parent / "runner.py"
#: Written into the venv once ``nova==NOVA_VERSION`` imports cleanly.
STAMP = f".stamp-nova-{NOVA_VERSION}"

#: Hosts for Nova's scheduling figure: Nova needs ~0.3-1 ms a host, so
#: 1,000 hosts keep it to about a second (reported per host anyway).
NOVA_HOSTS = 1_000
#: The NIC count whose pools every scheduled host has (bench_tracker's).
SCHED_NICS = 8
#: bench_tracker's scheduling request asks for this physical network.
SCHED_PHYSNET = "physnet2"
#: ``--peer-budget`` default: both workloads at N = 2, 8, 32 take Nova
#: a few minutes on 2 idle cores (its 8,256-device steady sync alone
#: ~30 s per workload), several times that on a busy machine.
DEFAULT_BUDGET_S = 480.0
DEFAULT_REPEATS = 5

#: libvirt's net-device features of a VF (what ``_get_pcinet_info``
#: returns for an Intel X710 VF netdev).
VF_NET_FEATURES = ("rx", "tx", "sg", "tso", "gso", "gro", "rxvlan", "txvlan")

#: Keys ``_get_pcidev_info`` reports for every device, for a PF with a
#: netdev and for a netdev VF (Nova 34, ``nova/virt/libvirt/host.py``;
#: the expectations of ``test_get_pcidev_info`` in Nova's own tests).
COMMON_KEYS = frozenset(
    {
        "dev_id",
        "address",
        "product_id",
        "vendor_id",
        "numa_node",
        "label",
        "dev_type",
    }
)
PF_KEYS = COMMON_KEYS | {"mac_address"}
VF_KEYS = COMMON_KEYS | {"parent_addr", "parent_ifname", "capabilities"}

#: ratio name -> (sriovirt bench, its figure, Nova's figure), each a key
#: of one workload's one size.  Each pair does the same work on the same
#: input: see bench/README.rst, "Fairness".
RATIO_MAP: Mapping[str, tuple[str, str, str]] = {
    "match": ("bench_match", "total_ms", "match_ms"),
    "full_sync": ("bench_tracker", "full_sync_ms", "full_sync_ms"),
    "steady_sync": ("bench_tracker", "steady_sync_ms", "steady_sync_ms"),
    "pools": ("bench_tracker", "pools_ms", "pools_ms"),
    "pools_json": ("bench_tracker", "pools_json_ms", "pools_json_ms"),
}
SCHED_RATIO = "scheduling_per_host"
#: Host counts of the PCI filter figure (bench_scheduler's, same hosts).
FILTER_HOSTS = (1_000, 10_000)
#: A network every scheduled host has, and one none has.
FILTER_HIT_PHYSNET = "physnet2"
FILTER_MISS_PHYSNET = "physnet9"
FILTER_RATIO = "pci_filter"
#: Ratios that compare pools: given only when both sides built the same
#: number of pools (Nova's ``pools``, bench_tracker's ``rebuilt_pools``).
POOL_RATIOS = frozenset({"pools", "pools_json"})


class PeerError(Exception):
    """The peer run cannot go on; ``str()`` is a one-line reason."""


def _mac(index: int) -> str:
    high, mid, low = (index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF
    return f"52:54:00:{high:02x}:{mid:02x}:{low:02x}"


def _dev_id(address: str) -> str:
    """libvirt's node-device name: ``pci_dddd_bb_ss_f``."""
    return "pci_" + address.replace(":", "_").replace(".", "_")


def nova_device(
    dev: HostPciDevice,
    *,
    vf_num: int | None = None,
    pf_mac: str | None = None,
    mac: str | None = None,
) -> dict[str, Any]:
    """``dev`` as Nova 34's ``Host._get_pcidev_info`` reports it.

    A PF (with a netdev) gets ``mac_address``; a VF gets ``parent_addr``,
    ``parent_ifname`` (its PF's netdev) and ``capabilities`` with the
    netdev features and the ``sriov`` details (PF MAC, VF number).
    """
    address = str(dev.address)
    info: dict[str, Any] = {
        "dev_id": _dev_id(address),
        "address": address,
        "product_id": dev.product_id,
        "vendor_id": dev.vendor_id,
        "numa_node": dev.numa_node,
        "label": f"label_{dev.vendor_id}_{dev.product_id}",
        "dev_type": dev.dev_type.value,
    }
    if dev.dev_type is DevType.PF and mac is not None:
        info["mac_address"] = mac
    if dev.dev_type is DevType.VF:
        info["parent_addr"] = str(dev.parent_addr)
        if dev.parent_ifname is not None:
            info["parent_ifname"] = dev.parent_ifname
        caps: dict[str, Any] = {"network": list(VF_NET_FEATURES)}
        if pf_mac is not None and vf_num is not None:
            caps["sriov"] = {"pf_mac_address": pf_mac, "vf_num": vf_num}
        info["capabilities"] = caps
    return info


def serialise_devices(
    devices: Iterable[HostPciDevice],
) -> list[dict[str, Any]]:
    """Every device as Nova's driver reports it (PFs before their VFs).

    PFs get made-up, unique MACs; VFs are numbered per PF in inventory
    order, as ``sriov_numvfs`` numbers them.
    """
    macs: dict[str, str] = {}
    vf_counts: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for dev in devices:
        if dev.dev_type is DevType.PF:
            mac = _mac(len(macs) + 1)
            macs[str(dev.address)] = mac
            out.append(nova_device(dev, mac=mac))
        elif dev.dev_type is DevType.VF:
            parent = str(dev.parent_addr)
            num = vf_counts.get(parent, 0)
            vf_counts[parent] = num + 1
            out.append(nova_device(dev, vf_num=num, pf_mac=macs.get(parent)))
        else:
            out.append(nova_device(dev))
    return out


def build_payload(
    sizes: Sequence[int],
    *,
    workloads: Sequence[str] = WORKLOADS,
    repeats: int = DEFAULT_REPEATS,
    budget_s: float = DEFAULT_BUDGET_S,
    hosts: int = NOVA_HOSTS,
    filter_hosts: Sequence[int] = FILTER_HOSTS,
) -> dict[str, Any]:
    """The runner's stdin: each size's devices, per workload its spec.

    The scheduling host (:data:`SCHED_NICS`, exact-address workload, as
    bench_tracker's) travels too, timed only for scheduling.
    """
    wanted = list(dict.fromkeys([*sizes, SCHED_NICS]))
    payload_sizes: dict[str, Any] = {}
    for n_nics in wanted:
        devices = build_devices(n_nics)
        named = workloads if n_nics in sizes else [EXACT_ADDRESS]
        payload_sizes[str(n_nics)] = {
            "devices": serialise_devices(devices),
            "device_spec": {w: device_spec(w, devices) for w in named},
            "expected_matches": {
                w: expected_matches(w, devices) for w in named
            },
        }
    return {
        "sizes": payload_sizes,
        "timed_sizes": [str(n) for n in sizes],
        "workloads": list(workloads),
        "scheduling": {
            "size": str(SCHED_NICS),
            "hosts": hosts,
            "physical_network": SCHED_PHYSNET,
        },
        "pci_filter": {
            "size": str(SCHED_NICS),
            "hosts": list(filter_hosts),
            "hit": FILTER_HIT_PHYSNET,
            "miss": FILTER_MISS_PHYSNET,
        },
        "repeats": repeats,
        "budget_s": budget_s,
    }


_OFFLINE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors[:1] or lines[-1:] or ["(no output)"])[0]


def _pip_reason(text: str) -> str:
    """One line saying why pip failed, naming the offline case plainly."""
    if any(marker in text for marker in _OFFLINE):
        return "the package index is unreachable (no network?)"
    if "No matching distribution found" in text:
        return (
            "a pinned package is not on the package index (no network, or "
            f"a stale {CONSTRAINTS.name}?): {_last_line(text)}"
        )
    return _last_line(text)


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(
    venv: Path = VENV_DIR, constraints: Path = CONSTRAINTS
) -> Path:
    """The Nova venv's interpreter, building the venv first if needed."""
    python = _venv_python(venv)
    if (venv / STAMP).exists() and python.exists():
        return python
    steps: list[tuple[str, list[str]]] = []
    if not python.exists():
        steps.append(
            (
                f"python -m venv {venv}",
                [sys.executable, "-m", "venv", str(venv)],
            )
        )
    pip = [str(python), "-m", "pip", "install", "-q"]
    pip += ["--retries", "2", "--timeout", "30"]
    if constraints.exists():
        pip += ["-c", str(constraints)]
    steps.append(
        (f"pip install nova=={NOVA_VERSION}", [*pip, f"nova=={NOVA_VERSION}"])
    )
    steps.append(
        (
            "import nova",
            [str(python), "-W", "ignore", "-c", "import nova.pci.manager"],
        )
    )
    for what, cmd in steps:
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=1800, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PeerError(
                f"cannot build the Nova venv {venv}: {what}: {exc}"
            ) from None
        if proc.returncode != 0:
            raise PeerError(
                f"cannot build the Nova venv {venv}: {what} failed: "
                f"{_pip_reason(proc.stderr or proc.stdout)}"
            )
    (venv / STAMP).write_text(f"nova=={NOVA_VERSION}\n")
    return python


def run_runner(
    python: Path, payload: Mapping[str, Any], timeout_s: float
) -> dict[str, Any]:
    """Run the Nova-side runner on ``payload``; its JSON report."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run(
            [str(python), "-W", "ignore", str(RUNNER)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise PeerError(
            f"the Nova runner did not finish within {timeout_s:.0f} s"
        ) from None
    if proc.returncode != 0:
        raise PeerError(
            f"the Nova runner failed: {_last_line(proc.stderr or proc.stdout)}"
        )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise PeerError(
            f"the Nova runner printed no JSON: {_last_line(proc.stdout)}"
        ) from None
    if not isinstance(report, dict):
        raise PeerError("the Nova runner printed JSON that is not an object")
    return report


def _sizes_of(report: Mapping[str, Any], workload: str) -> Mapping[str, Any]:
    """One workload's per-size figures in a report with "workloads"."""
    section = report.get("workloads")
    if not isinstance(section, Mapping):
        return {}
    sizes = section.get(workload)
    return sizes if isinstance(sizes, Mapping) else {}


def _sriovirt_sizes(
    report: Mapping[str, Any], bench: str, workload: str
) -> Mapping[str, Any]:
    """A bench's per-size figures of one workload."""
    section = report.get(bench)
    if not isinstance(section, Mapping):
        return {}
    return _sizes_of(section, workload)


def ratio(nova: object, ours: object) -> float | None:
    """Nova time / sriovirt time, ``None`` when either is missing or 0."""
    if not isinstance(nova, int | float) or not isinstance(ours, int | float):
        return None
    if ours <= 0:
        return None
    return round(nova / ours, 1)


def compute_ratios(
    sriovirt: Mapping[str, Any], nova: Mapping[str, Any]
) -> dict[str, Any]:
    """Nova time / sriovirt time per workload, size and operation.

    ``sriovirt`` is the report of ``python -m bench`` (``bench_match`` and
    ``bench_tracker`` sections); ``nova`` the runner's.  Both nest their
    figures as ``workloads -> workload -> size``; so do the ratios.  A
    figure either side lacks (skipped, bench not run) gives ``None``,
    never a guess; so do the pool ratios (:data:`POOL_RATIOS`) when the
    two sides' pool counts differ (not like for like).
    """
    per_workload: dict[str, Any] = {}
    nova_workloads = nova.get("workloads", {})
    for workload, nova_sizes in nova_workloads.items():
        per_size: dict[str, dict[str, float | None]] = {}
        for size, nova_fig in nova_sizes.items():
            ratios: dict[str, float | None] = {}
            for name, (bench, ours_key, nova_key) in RATIO_MAP.items():
                ours = _sriovirt_sizes(sriovirt, bench, workload).get(size)
                ours = ours if isinstance(ours, Mapping) else {}
                if name in POOL_RATIOS and nova_fig.get("pools") != ours.get(
                    "rebuilt_pools"
                ):
                    ratios[name] = None
                    continue
                ratios[name] = ratio(
                    nova_fig.get(nova_key), ours.get(ours_key)
                )
            per_size[size] = ratios
        per_workload[workload] = per_size
    result: dict[str, Any] = {"workloads": per_workload}
    tracker = sriovirt.get("bench_tracker")
    ours_sched = (
        tracker.get("scheduling", {}) if isinstance(tracker, Mapping) else {}
    )
    result[SCHED_RATIO] = ratio(
        nova.get("scheduling", {}).get("support_us_per_host"),
        ours_sched.get("support_us_per_host"),
    )
    result[FILTER_RATIO] = filter_ratios(sriovirt, nova)
    return result


def filter_ratios(
    sriovirt: Mapping[str, Any], nova: Mapping[str, Any]
) -> dict[str, dict[str, float | None]]:
    """Nova / sriovirt of the PCI filter, per host count, hit and miss.

    bench_scheduler's ``filter_hit_ms`` / ``filter_miss_ms`` against
    the runner's: the same request over the same number of hosts with
    the same host's pools, JSON loading excluded on both sides.
    """
    section = sriovirt.get("bench_scheduler")
    ours_all = (
        section.get("pci_filter", {}) if isinstance(section, Mapping) else {}
    )
    theirs_all = nova.get("pci_filter", {})
    out: dict[str, dict[str, float | None]] = {}
    for hosts in sorted(set(ours_all) | set(theirs_all), key=int):
        ours = ours_all.get(hosts, {})
        theirs = theirs_all.get(hosts, {})
        out[hosts] = {
            kind: ratio(
                theirs.get(f"filter_{kind}_ms"), ours.get(f"filter_{kind}_ms")
            )
            for kind in ("hit", "miss")
        }
    return out


def run_peer(
    sizes: Sequence[int],
    sriovirt_report: Mapping[str, Any],
    *,
    workloads: Sequence[str] = WORKLOADS,
    python: Path | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    repeats: int = DEFAULT_REPEATS,
) -> dict[str, Any]:
    """The ``"nova_peer"`` report section: Nova's figures and ratios."""
    if python is None:
        python = ensure_venv()
    payload = build_payload(
        sizes, workloads=workloads, repeats=repeats, budget_s=budget_s
    )
    # The budget bounds starting new work; one started run may overrun.
    nova = run_runner(python, payload, timeout_s=budget_s * 2 + 120)
    return {
        "nova_version": nova.get("nova_version"),
        "figures": nova,
        "ratios": compute_ratios(sriovirt_report, nova),
    }
