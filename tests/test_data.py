"""Tests of helpers.data (with helpers.data.download, helpers.data.standin and helpers.data.store behind it):
downloads against a real server on 127.0.0.1, the cache, the stand-in, the offline fallback, the CLI.

Most tests give helpers.data.standin a small fake generator in place of helpers.data.synthetic (same file
names, keys, shapes and dtypes, random numbers) so they stay fast and do not depend on the stand-in's
statistics; the tests named ``test_real_generator_*`` use the real generator.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import multiprocessing
import os
import stat
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
from _http_server import ScriptedServer, Serve, Stall, Status, Truncated, closed_port_url

from helpers import data, settings
from helpers.data import download, standin

REPO = Path(__file__).resolve().parents[1]
REAL_N = 23589  # neurons in the recording (data-spec.md)
SMALL_N = 257  # most tests shrink the neuron count so files are small and tests fast


# ----------------------------------------------------------------------------------------------------
# A fake helpers.data.synthetic (importable by child processes, hence module level)


def fake_arrays(seed: int, n: int | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Both files' arrays with the real keys and dtypes, n neurons (default: settings.N_NEURONS), noise."""
    N = settings.N_NEURONS if n is None else n
    rng = np.random.default_rng(seed)
    return {
        settings.BINNED_FILE: {
            "resp": rng.standard_normal((360, N), dtype=np.float32),
            "stimuli": np.arange(360, dtype=np.float64),
        },
        settings.SPLIT_FILE: {
            "resp_train": rng.standard_normal((60, N), dtype=np.float32),
            "resp_test": rng.standard_normal((60, N), dtype=np.float32),
            "stimuli": np.arange(0, 360, 6, dtype=np.float64),
        },
    }


def make_fake_synthetic(counter_file: str | None = None, delay: float = 0.0) -> types.ModuleType:
    module = types.ModuleType("helpers.data.synthetic")

    @dataclasses.dataclass(frozen=True)
    class StandInParams:
        seed: int = 7
        gain: float = 1.0

    def generate(params=None):
        params = params or StandInParams()
        module.calls += 1
        if counter_file:
            with open(counter_file, "a") as f:
                f.write(f"{os.getpid()}\n")
        time.sleep(delay)
        return fake_arrays(params.seed)

    module.StandInParams = StandInParams
    module.GENERATOR_VERSION = 99
    module.generate = generate
    module.calls = 0
    return module


def md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def leftovers(folder: Path) -> list[str]:
    """Everything in ``folder`` (lock files and temporary files included)."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(autouse=True)
def clean_state(tmp_path, monkeypatch):
    """A fresh empty cache, no source forced, no progress bar, quick retries, per-process state reset."""
    monkeypatch.setenv("NMA_DECODING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NMA_DECODING_PROGRESS", "0")
    monkeypatch.delenv("NMA_DECODING_DATA", raising=False)
    monkeypatch.delenv("NMA_DECODING_URL_BASE", raising=False)
    monkeypatch.setattr(download, "RETRY_WAIT", 0.01)
    monkeypatch.setattr(data, "_NOTICE_SHOWN", False)
    monkeypatch.setattr(data, "_AUTO_ANSWERS", {})
    monkeypatch.setattr(settings, "N_NEURONS", SMALL_N)
    return tmp_path / "cache"


@pytest.fixture
def cache(clean_state) -> Path:
    return clean_state


@pytest.fixture
def fake(monkeypatch) -> types.ModuleType:
    module = make_fake_synthetic()
    monkeypatch.setattr(standin, "synthetic", module)
    return module


@pytest.fixture
def small_real(monkeypatch) -> dict[str, bytes]:
    """Pretend real files: small payloads whose md5 replaces the real ones (enough for download tests)."""
    payloads = {name: f"pretend contents of {name}\n".encode() * 5000 for name in settings.FILE_NAMES}
    for name, body in payloads.items():
        url = download.REAL_FILES[name].url
        monkeypatch.setitem(download.REAL_FILES, name, download.RealFile(url, hashlib.md5(body).hexdigest()))
    return payloads


@pytest.fixture(scope="module")
def loadable_payloads() -> dict[str, bytes]:
    """Valid .npz files with the real keys and shapes (seed 123), as bytes."""
    return {name: npz_bytes(arrays) for name, arrays in fake_arrays(123, SMALL_N).items()}


@pytest.fixture
def loadable_real(monkeypatch, loadable_payloads) -> dict[str, bytes]:
    for name, body in loadable_payloads.items():
        url = download.REAL_FILES[name].url
        monkeypatch.setitem(download.REAL_FILES, name, download.RealFile(url, hashlib.md5(body).hexdigest()))
    return loadable_payloads


def serve(monkeypatch, routes) -> ScriptedServer:
    server = ScriptedServer({f"/{name}": plan for name, plan in routes.items()})
    monkeypatch.setenv("NMA_DECODING_URL_BASE", server.url)
    return server


def assert_short_notice(out: str, name: str, loader: str) -> None:
    """``out`` is exactly one fallback notice: at most 4 lines of at most 100 characters, no path."""
    assert out.count("NOTICE") == 1 and out.startswith("NOTICE"), out
    lines = out.splitlines()
    assert 1 <= len(lines) <= 4, out
    assert max(len(line) for line in lines) <= 100, out
    assert "SIMULATED" in out
    assert name in out and not any(other in out for other in settings.FILE_NAMES if other != name)
    assert f"%env {settings.ENV_SOURCE}=synthetic" in out and f'{loader}(source="synthetic")' in out
    assert "/" not in out and "\\" not in out  # no local path (and no address)


def assert_clear_download_error(err: data.DataUnavailableError, name: str, url: str, cache: Path):
    message = str(err)
    assert isinstance(err, RuntimeError)
    assert name in message and url in message
    assert "try again later" in message
    assert str(cache / name) in message
    assert "NMA_DECODING_DATA=synthetic" in message


# ----------------------------------------------------------------------------------------------------
# Real files: downloads


def test_cache_folder_default_and_override(monkeypatch, tmp_path):
    import pooch

    monkeypatch.delenv("NMA_DECODING_CACHE")
    assert data.cache_dir() == Path(pooch.os_cache("nma-decoding")).expanduser().absolute()
    monkeypatch.setenv("NMA_DECODING_CACHE", "~/somewhere")
    assert data.cache_dir() == Path.home() / "somewhere"


def test_default_addresses_and_hashes_are_the_published_ones():
    assert download.REAL_FILES[settings.BINNED_FILE] == (
        "https://osf.io/683xc/download",
        "436599dfd8ebe6019f066c38aed20580",
    )
    assert download.REAL_FILES[settings.SPLIT_FILE] == (
        "https://osf.io/p3aeb/download",
        "b3f7245c6221234a676b71a1f43c3bb5",
    )


def test_download_lands_with_right_md5_and_second_call_uses_cache(monkeypatch, capsys, cache, small_real):
    monkeypatch.setenv("NMA_DECODING_PROGRESS", "1")  # the progress bar path runs too
    name = settings.BINNED_FILE
    with serve(monkeypatch, {name: [Serve(small_real[name])]}) as server:
        path = data.fetch(name, source="osf")
        assert path == cache / name
        assert md5(path) == download.REAL_FILES[name].md5
        assert server.requests[f"/{name}"] == 1
        again = data.fetch(name, source="osf")
        assert again == path
        assert server.requests[f"/{name}"] == 1  # served from the cache, no second request
    assert leftovers(cache) == [name]
    assert "100%" in capsys.readouterr().err  # the progress bar ran to the end


def test_transient_failure_is_retried_once(monkeypatch, cache, small_real):
    name = settings.SPLIT_FILE
    with serve(monkeypatch, {name: [Status(503), Serve(small_real[name])]}) as server:
        path = data.fetch(name, source="osf")
        assert server.requests[f"/{name}"] == 2
    assert md5(path) == download.REAL_FILES[name].md5
    path.unlink()
    with serve(monkeypatch, {name: [Status(503), Status(503), Serve(small_real[name])]}) as server:
        with pytest.raises(data.DataUnavailableError, match="after 2 attempts: the server answered HTTP 503"):
            data.fetch(name, source="osf")
        assert server.requests[f"/{name}"] == 2  # one retry, no more


def test_wrong_hash_raises_and_leaves_no_file(monkeypatch, cache, small_real):
    name = settings.BINNED_FILE
    with serve(monkeypatch, {name: [Serve(b"something else entirely")]}) as server:
        with pytest.raises(data.DataUnavailableError) as info:
            data.fetch(name, source="osf")
        url = f"{server.url}/{name}"
    assert_clear_download_error(info.value, name, url, cache)
    assert "md5" in str(info.value)
    assert leftovers(cache) == []


def test_404_is_final_raises_and_leaves_no_file(monkeypatch, cache, small_real):
    name = settings.BINNED_FILE
    with serve(monkeypatch, {}) as server:  # every path answers 404
        with pytest.raises(data.DataUnavailableError) as info:
            data.fetch(name, source="osf")
        assert server.requests[f"/{name}"] == 1  # asking again would not help
        url = f"{server.url}/{name}"
    assert_clear_download_error(info.value, name, url, cache)
    assert "HTTP 404" in str(info.value) and "attempts" not in str(info.value)
    assert leftovers(cache) == []


def test_connection_refused_raises_and_leaves_no_file(monkeypatch, cache, small_real):
    base = closed_port_url()
    monkeypatch.setenv("NMA_DECODING_URL_BASE", base)
    name = settings.SPLIT_FILE
    with pytest.raises(data.DataUnavailableError) as info:
        data.fetch(name, source="osf")
    assert_clear_download_error(info.value, name, f"{base}/{name}", cache)
    assert "could not connect" in str(info.value) and "Connection refused" in str(info.value)
    reason = info.value.reason  # one line, for logs
    assert name in reason and "could not connect" in reason and "\n" not in reason
    assert info.value.file_name == name and info.value.cause == "could not connect to the server"
    assert leftovers(cache) == []


def test_truncated_body_raises_and_leaves_no_file(monkeypatch, cache, small_real):
    name = settings.BINNED_FILE
    body = small_real[name]
    with serve(monkeypatch, {name: [Truncated(body[:1000], len(body))]}) as server:
        with pytest.raises(data.DataUnavailableError) as info:
            data.fetch(name, source="osf")
        url = f"{server.url}/{name}"
    assert_clear_download_error(info.value, name, url, cache)
    assert leftovers(cache) == []


def test_server_too_slow_times_out_quickly_is_not_retried_and_leaves_no_file(monkeypatch, cache, small_real):
    monkeypatch.setattr(download, "TIMEOUT", 0.5)
    name = settings.BINNED_FILE
    with serve(monkeypatch, {name: [Stall()]}) as server:
        start = time.monotonic()
        with pytest.raises(data.DataUnavailableError) as info:
            data.fetch(name, source="osf")
        elapsed = time.monotonic() - start
        url = f"{server.url}/{name}"
        assert server.requests[f"/{name}"] == 1  # a server that sends nothing counts as down
    assert elapsed < 5
    assert_clear_download_error(info.value, name, url, cache)
    assert "the server sent nothing for 0.5 s" in str(info.value)
    assert leftovers(cache) == []


def test_truncated_cached_real_file_is_replaced(monkeypatch, cache, small_real):
    name = settings.BINNED_FILE
    cache.mkdir(parents=True)
    (cache / name).write_bytes(small_real[name][:500])  # an interrupted earlier copy
    with serve(monkeypatch, {name: [Serve(small_real[name])]}) as server:
        path = data.fetch(name, source="osf")
        assert server.requests[f"/{name}"] == 1
    assert md5(path) == download.REAL_FILES[name].md5


def test_corrupt_cached_real_file_is_removed_when_it_cannot_be_replaced(monkeypatch, cache, small_real):
    name = settings.BINNED_FILE
    cache.mkdir(parents=True)
    (cache / name).write_bytes(b"garbage" * 100)
    monkeypatch.setenv("NMA_DECODING_URL_BASE", closed_port_url())
    with pytest.raises(data.DataUnavailableError):
        data.fetch(name, source="osf")
    assert leftovers(cache) == []


def test_corrupt_cached_real_file_is_never_loaded(monkeypatch, cache, loadable_real):
    cache.mkdir(parents=True)
    good = fake_arrays(123)[settings.BINNED_FILE]
    bad = {"resp": good["resp"] + 1, "stimuli": good["stimuli"]}  # loadable, but not the file
    (cache / settings.BINNED_FILE).write_bytes(npz_bytes(bad))
    with serve(monkeypatch, {settings.BINNED_FILE: [Serve(loadable_real[settings.BINNED_FILE])]}):
        resp, _ = data.load_data(source="osf")
    np.testing.assert_array_equal(resp.numpy(), good["resp"])


def test_dest_folder_is_filled_from_the_cache_without_a_download(monkeypatch, cache, tmp_path, small_real):
    name = settings.SPLIT_FILE
    with serve(monkeypatch, {name: [Serve(small_real[name])]}) as server:
        data.fetch(name, source="osf")
        copied = data.fetch(name, source="osf", dest=tmp_path / "room")
        assert server.requests[f"/{name}"] == 1
    assert copied == tmp_path / "room" / name
    assert md5(copied) == download.REAL_FILES[name].md5


def test_url_base_override_and_unsupported_scheme(monkeypatch, cache, small_real):
    monkeypatch.setenv("NMA_DECODING_URL_BASE", "ftp://mirror.example/files/")
    assert download.real_url(settings.BINNED_FILE) == f"ftp://mirror.example/files/{settings.BINNED_FILE}"
    with pytest.raises(data.DataUnavailableError, match="only http:// and https://"):
        data.fetch(settings.BINNED_FILE, source="osf")


# ----------------------------------------------------------------------------------------------------
# The stand-in


def test_standin_generated_once_cached_and_named_by_version_and_seed(cache, fake):
    path = data.fetch(settings.BINNED_FILE, source="synthetic")
    assert path.parent == cache
    assert "_v99_" in path.name and "_seed7_" in path.name
    assert fake.calls == 1
    recorded = (path.parent / (path.name + ".md5")).read_text().split()[0]
    assert recorded == md5(path)
    split = data.fetch(settings.SPLIT_FILE, source="synthetic")  # made by the same generate() call
    data.load_data(source="synthetic")
    assert fake.calls == 1
    with np.load(split) as npz:
        assert npz["resp_train"].dtype == np.float32
        np.testing.assert_array_equal(npz["resp_train"], fake_arrays(7)[settings.SPLIT_FILE]["resp_train"])
    assert not any(name.endswith(".part") for name in leftovers(cache))


def test_changed_generator_version_never_serves_the_old_file(cache, fake):
    old = data.fetch(settings.BINNED_FILE, source="synthetic")
    fake.GENERATOR_VERSION = 100
    new = data.fetch(settings.BINNED_FILE, source="synthetic")
    assert new != old and "_v100_" in new.name
    assert fake.calls == 2


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "drop_sidecar", "bad_sidecar"])
def test_corrupt_cached_standin_is_regenerated(cache, fake, damage):
    path = data.fetch(settings.BINNED_FILE, source="synthetic")
    sidecar = path.parent / (path.name + ".md5")
    content = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "flip_byte":
        flipped = bytearray(content)
        flipped[len(flipped) // 2] ^= 0xFF
        path.write_bytes(bytes(flipped))
    elif damage == "drop_sidecar":
        sidecar.unlink()
    else:
        sidecar.write_text("0" * 32 + "\n")
    resp, stimuli = data.load_data(source="synthetic")
    assert fake.calls == 2
    assert path.read_bytes() == content
    np.testing.assert_array_equal(resp.numpy(), fake_arrays(7)[settings.BINNED_FILE]["resp"])


def test_generator_with_wrong_content_writes_nothing(cache, fake):
    good = fake.generate

    def broken(params=None):
        arrays = good(params)
        arrays[settings.SPLIT_FILE]["resp_test"] = arrays[settings.SPLIT_FILE]["resp_test"][:, :100]
        return arrays

    fake.generate = broken
    with pytest.raises(
        data.DataFileError, match=rf"'resp_test' has shape \(60, 100\), expected \(60, {SMALL_N}\)"
    ):
        data.fetch(settings.BINNED_FILE, source="synthetic")
    assert leftovers(cache) == []


def test_generator_with_wrong_dtype_writes_nothing(cache, fake):
    good = fake.generate

    def float64(params=None):
        arrays = good(params)
        arrays[settings.BINNED_FILE]["resp"] = arrays[settings.BINNED_FILE]["resp"].astype(np.float64)
        return arrays

    fake.generate = float64
    with pytest.raises(data.DataFileError, match="'resp' has dtype float64, expected float32"):
        data.load_data(source="synthetic")
    assert leftovers(cache) == []


def _child_fetch(cache: str, counter_file: str, barrier, results) -> None:
    """Run in a fresh process: ask for the stand-in at the same moment as the other children."""
    try:
        os.environ["NMA_DECODING_CACHE"] = cache
        os.environ["NMA_DECODING_DATA"] = "synthetic"
        from helpers import data as child_data
        from helpers import settings as child_settings
        from helpers.data import standin as child_standin

        child_standin.synthetic = make_fake_synthetic(counter_file=counter_file, delay=0.5)
        child_settings.N_NEURONS = SMALL_N
        barrier.wait(timeout=60)
        path = child_data.fetch(child_settings.BINNED_FILE)
        with np.load(path) as npz:
            total = float(npz["resp"].sum())
        results.put(("ok", str(path), md5(path), total))
    except BaseException as err:  # report, don't hang the parent
        results.put(("error", repr(err), "", 0.0))


def test_four_processes_on_an_empty_cache_all_get_the_same_valid_standin(cache, tmp_path):
    counter = tmp_path / "generations.txt"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_child_fetch, args=(str(cache), str(counter), barrier, results)) for _ in range(4)
    ]
    for proc in procs:
        proc.start()
    answers = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert all(a[0] == "ok" for a in answers), answers
    assert len({a[1:] for a in answers}) == 1  # same path, same md5, same loaded data
    path = Path(answers[0][1])
    assert answers[0][2] == (path.parent / (path.name + ".md5")).read_text().split()[0]
    assert len(counter.read_text().splitlines()) == 1  # generated exactly once
    expected = fake_arrays(7)[settings.BINNED_FILE]["resp"]
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["resp"], expected)
    assert not any(name.endswith((".part", ".lock")) for name in leftovers(cache))


# ----------------------------------------------------------------------------------------------------
# Choosing the source


def test_auto_falls_back_to_standin_with_exactly_one_notice(monkeypatch, capsys, fake, small_real):
    monkeypatch.setenv("NMA_DECODING_URL_BASE", closed_port_url())
    assert data.resolve_source() == "synthetic"
    resp, _ = data.load_data()
    data.load_data(bin_width=6)
    data.load_data_split()
    assert data.is_synthetic()
    line = data.describe_source()
    out = capsys.readouterr().out
    assert_short_notice(out, settings.BINNED_FILE, "load_data")
    assert "could not connect" in out
    assert "SIMULATED" in line and "\n" not in line
    np.testing.assert_array_equal(resp.numpy(), fake_arrays(7)[settings.BINNED_FILE]["resp"])


def test_auto_answer_is_kept_for_the_process(monkeypatch, fake, small_real):
    with serve(monkeypatch, {}) as server:  # 404 for everything
        assert data.resolve_source() == "synthetic"
        first = sum(server.requests.values())
        assert data.resolve_source("auto") == "synthetic"
        data.load_data()
        assert sum(server.requests.values()) == first == 1


def test_auto_uses_real_files_when_they_can_be_had(monkeypatch, capsys, fake, loadable_real):
    routes = {name: [Serve(body)] for name, body in loadable_real.items()}
    with serve(monkeypatch, routes):
        assert data.resolve_source() == "osf"
        resp, stimuli = data.load_data()
        assert not data.is_synthetic()
        assert "real recording" in data.describe_source()
    assert "NOTICE" not in capsys.readouterr().out
    assert fake.calls == 0
    np.testing.assert_array_equal(resp.numpy(), fake_arrays(123)[settings.BINNED_FILE]["resp"])


def test_osf_source_raises_instead_of_falling_back(monkeypatch, capsys, fake, small_real):
    monkeypatch.setenv("NMA_DECODING_URL_BASE", closed_port_url())
    assert data.resolve_source("osf") == "osf"
    with pytest.raises(data.DataUnavailableError):
        data.load_data(source="osf")
    with pytest.raises(data.DataUnavailableError):
        data.load_data_split(source="osf")
    assert fake.calls == 0
    assert "NOTICE" not in capsys.readouterr().out


def test_environment_variable_forces_the_source(monkeypatch, cache, fake, loadable_real):
    routes = {name: [Serve(body)] for name, body in loadable_real.items()}
    with serve(monkeypatch, routes) as server:
        monkeypatch.setenv("NMA_DECODING_DATA", "synthetic")
        assert data.resolve_source() == "synthetic"
        data.load_data()
        assert sum(server.requests.values()) == 0
    monkeypatch.setenv("NMA_DECODING_DATA", "osf")
    monkeypatch.setenv("NMA_DECODING_URL_BASE", closed_port_url())
    with pytest.raises(data.DataUnavailableError):
        data.load_data()
    # an explicit argument still wins over the environment variable
    assert data.resolve_source("synthetic") == "synthetic"


def test_empty_environment_variable_means_auto(monkeypatch, capsys, fake, small_real):
    monkeypatch.setenv("NMA_DECODING_DATA", " ")
    monkeypatch.setenv("NMA_DECODING_URL_BASE", closed_port_url())
    assert data.resolve_source() == "synthetic"  # auto, fell back
    assert capsys.readouterr().out.count("NOTICE") == 1


@pytest.mark.parametrize("value", ["real", "OSF-only"])
def test_invalid_source_in_environment_names_the_valid_choices(monkeypatch, value):
    monkeypatch.setenv("NMA_DECODING_DATA", value)
    with pytest.raises(ValueError) as info:
        data.resolve_source()
    message = str(info.value)
    assert "NMA_DECODING_DATA" in message
    assert all(repr(choice) in message for choice in settings.SOURCES)


@pytest.mark.parametrize("value", ["foo", "", 3])
def test_invalid_source_argument_is_refused(value):
    with pytest.raises(ValueError, match="Valid choices: 'auto', 'osf', 'synthetic'"):
        data.load_data(source=value)


def test_unknown_file_name_is_refused():
    with pytest.raises(ValueError, match="Valid names"):
        data.fetch("stringer.npz", source="synthetic")


# ----------------------------------------------------------------------------------------------------
# Offline: a server that never answers, and a notebook that needs one file


def test_stalled_server_falls_back_within_15_s_with_one_short_notice(monkeypatch, capsys, fake, small_real):
    """The real timeouts: a server that accepts and never answers costs one 10 s wait, then the stand-in."""
    monkeypatch.setenv("NMA_DECODING_PROGRESS", "1")  # no bar may appear for a server that never answers
    assert (download.TIMEOUT, download.RETRIES) == (10.0, 1)
    with serve(monkeypatch, {name: [Stall()] for name in settings.FILE_NAMES}) as server:
        start = time.monotonic()
        resp, _ = data.load_data()
        first = time.monotonic() - start
        data.load_data_split()  # the answer is kept: no second wait
        data.load_data(bin_width=6)
        total = time.monotonic() - start
        requested = dict(server.requests)
    assert 9 < first < 15 and total < 15, (first, total)
    assert requested == {f"/{settings.BINNED_FILE}": 1}  # not retried, the other file never asked for
    out, err = capsys.readouterr()
    assert_short_notice(out, settings.BINNED_FILE, "load_data")
    assert "the server sent nothing for 10 s" in out
    assert err == ""  # nothing Jupyter would paint as an error
    assert data.is_synthetic()
    np.testing.assert_array_equal(resp.numpy(), fake_arrays(7)[settings.BINNED_FILE]["resp"])


def test_split_only_load_never_asks_for_the_1_degree_file(monkeypatch, capsys, fake, small_real):
    monkeypatch.setattr(download, "TIMEOUT", 0.5)
    with serve(monkeypatch, {name: [Stall()] for name in settings.FILE_NAMES}) as server:
        train, _, _ = data.load_data_split()
        line = data.describe_source()  # after the load, as the notebooks print it
        requested = dict(server.requests)
    assert requested == {f"/{settings.SPLIT_FILE}": 1}
    assert_short_notice(capsys.readouterr().out, settings.SPLIT_FILE, "load_data_split")
    assert "SIMULATED" in line
    np.testing.assert_array_equal(train.numpy(), fake_arrays(7)[settings.SPLIT_FILE]["resp_train"])


def test_split_only_load_downloads_only_the_split_file(monkeypatch, capsys, cache, fake, loadable_real):
    with serve(monkeypatch, {name: [Serve(body)] for name, body in loadable_real.items()}) as server:
        train, _, _ = data.load_data_split()
        line = data.describe_source()
        requested = dict(server.requests)
    assert requested == {f"/{settings.SPLIT_FILE}": 1}
    assert "real recording" in line and "NOTICE" not in capsys.readouterr().out
    assert leftovers(cache) == [settings.SPLIT_FILE]
    assert fake.calls == 0
    np.testing.assert_array_equal(train.numpy(), fake_arrays(123, SMALL_N)[settings.SPLIT_FILE]["resp_train"])


def test_auto_falls_back_for_a_later_file_that_cannot_be_had(monkeypatch, capsys, fake, loadable_real):
    binned, split = settings.BINNED_FILE, settings.SPLIT_FILE
    routes = {binned: [Serve(loadable_real[binned])], split: [Status(404)]}
    with serve(monkeypatch, routes):
        resp, _ = data.load_data()
        assert not data.is_synthetic()
        train, _, _ = data.load_data_split()
        assert data.is_synthetic()
    assert_short_notice(capsys.readouterr().out, settings.SPLIT_FILE, "load_data_split")
    np.testing.assert_array_equal(resp.numpy(), fake_arrays(123, SMALL_N)[settings.BINNED_FILE]["resp"])
    np.testing.assert_array_equal(train.numpy(), fake_arrays(7)[settings.SPLIT_FILE]["resp_train"])


def test_unusable_cache_folder_is_named_with_the_fix(monkeypatch, capsys, tmp_path, fake, small_real):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NMA_DECODING_CACHE", str(blocker / "cache"))
    with pytest.raises(data.DataUnavailableError, match="Set the environment variable NMA_DECODING_CACHE"):
        data.load_data()  # neither the real file nor the stand-in can be written
    assert_short_notice(capsys.readouterr().out, settings.BINNED_FILE, "load_data")


# ----------------------------------------------------------------------------------------------------
# Shared caches and hashing


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_cached_and_fetched_files_honour_the_umask(
    monkeypatch, cache, tmp_path, fake, small_real, mask, mode
):
    room = tmp_path / "room"
    previous = os.umask(mask)
    try:
        with serve(monkeypatch, {name: [Serve(body)] for name, body in small_real.items()}):
            for name in settings.FILE_NAMES:
                data.fetch(name, source="osf")  # downloaded
                data.fetch(name, source="osf", dest=room)  # copied from the cache
                data.fetch(name, source="synthetic")  # generated, with its checksum file
    finally:
        os.umask(previous)
    files = sorted([*cache.iterdir(), *room.iterdir()])
    assert len(files) == 2 + 4 + 2
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: oct(mode) for p in files}


def test_each_file_is_hashed_once_per_load(monkeypatch, cache, fake, loadable_real):
    hashed = []
    plain_md5 = hashlib.md5

    def counting_md5(*args, **kwargs):
        hashed.append(1)
        return plain_md5(*args, **kwargs)

    def hashes_in(load) -> int:
        hashed.clear()
        load()
        return len(hashed)

    monkeypatch.setattr(hashlib, "md5", counting_md5)
    with serve(monkeypatch, {name: [Serve(body)] for name, body in loadable_real.items()}):
        assert hashes_in(lambda: data.load_data(source="osf")) == 1  # downloaded, checked as it landed
        assert hashes_in(lambda: data.load_data(source="osf")) == 1  # from the cache
        assert hashes_in(lambda: data.load_data_split()) == 1  # auto: decided and loaded in one step
    assert hashes_in(lambda: data.load_data(source="synthetic")) == 2  # both files generated and written
    assert hashes_in(lambda: data.load_data(source="synthetic")) == 1


# ----------------------------------------------------------------------------------------------------
# Loading


def test_load_data_shapes_dtypes_and_units_at_full_size(monkeypatch, fake):
    import torch

    monkeypatch.setattr(settings, "N_NEURONS", REAL_N)
    resp, stimuli = data.load_data(source="synthetic")
    assert resp.dtype == torch.float32 and stimuli.dtype == torch.float32
    assert resp.shape == (360, REAL_N) and stimuli.shape == (360, 1)
    np.testing.assert_array_equal(stimuli[:, 0].numpy(), np.arange(360))
    train, test, split_stimuli = data.load_data_split(source="synthetic")
    assert train.shape == test.shape == (60, REAL_N)
    assert train.dtype == test.dtype == split_stimuli.dtype == torch.float32
    assert split_stimuli.shape == (60, 1)
    np.testing.assert_array_equal(split_stimuli[:, 0].numpy(), np.arange(0, 360, 6))


@pytest.mark.parametrize("width", [2, 6, 45, 360])
def test_binning_averages_consecutive_degrees(fake, width):
    import torch

    N = SMALL_N
    fine, _ = data.load_data(source="synthetic")
    resp, stimuli = data.load_data(bin_width=width, source="synthetic")
    n_bins = 360 // width
    assert resp.shape == (n_bins, N) and stimuli.shape == (n_bins, 1)
    assert resp.dtype == stimuli.dtype == torch.float32
    expected = fine.numpy().astype(np.float64).reshape(n_bins, width, N).mean(axis=1)
    np.testing.assert_allclose(resp.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stimuli[:, 0].numpy(), np.arange(n_bins) * width + (width - 1) / 2)


def test_binning_uses_each_rows_orientation_not_its_position(monkeypatch, fake):
    shuffled = fake_arrays(7)
    order = np.random.default_rng(0).permutation(360)
    shuffled[settings.BINNED_FILE] = {k: v[order] for k, v in shuffled[settings.BINNED_FILE].items()}
    fake.generate = lambda params=None: shuffled
    resp, stimuli = data.load_data(bin_width=10, source="synthetic")
    ordered = fake_arrays(7)[settings.BINNED_FILE]["resp"].astype(np.float64)
    expected = ordered.reshape(36, 10, SMALL_N).mean(axis=1)
    np.testing.assert_allclose(resp.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stimuli[:, 0].numpy(), np.arange(36) * 10 + 4.5)


@pytest.mark.parametrize("width", [7, 0, -6, 1.5, 720, True, "6", None])
def test_bin_width_that_does_not_divide_360_is_refused(fake, width):
    with pytest.raises(ValueError, match="360|whole number"):
        data.load_data(bin_width=width, source="synthetic")
    assert fake.calls == 0  # refused before any work


def test_real_file_with_wrong_content_gives_a_clear_error(monkeypatch, cache):
    body = npz_bytes({"resp": np.zeros((360, 10), np.float32)})
    url = download.REAL_FILES[settings.BINNED_FILE].url
    real_file = download.RealFile(url, hashlib.md5(body).hexdigest())
    monkeypatch.setitem(download.REAL_FILES, settings.BINNED_FILE, real_file)
    with serve(monkeypatch, {settings.BINNED_FILE: [Serve(body)]}):
        with pytest.raises(data.DataFileError) as info:
            data.load_data(source="osf")
    message = str(info.value)
    assert "stimuli" in message and str(cache / settings.BINNED_FILE) in message and "Delete" in message


def test_importing_helpers_data_does_not_import_torch():
    code = "import sys, helpers.data; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------------
# Command line


def test_cli_fetch_synthetic_into_dest(capsys, cache, tmp_path, fake):
    dest = tmp_path / "room"
    assert data.main(["fetch", "--source", "synthetic", "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    files = sorted(p for p in dest.iterdir() if p.suffix == ".npz")
    assert len(files) == 2
    for path in files:
        assert f"{md5(path)}  {path}" in out
    # only the data files and their checksums: no lock, no temporary file
    assert leftovers(dest) == sorted([p.name for p in files] + [p.name + ".md5" for p in files])
    assert "SIMULATED" in out
    assert not cache.exists()  # the cache was not touched


def test_cli_fetch_real_into_dest(monkeypatch, capsys, tmp_path, small_real):
    dest = tmp_path / "room"
    routes = {name: [Serve(body)] for name, body in small_real.items()}
    with serve(monkeypatch, routes):
        assert data.main(["fetch", "--source", "osf", "--dest", str(dest)]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # NMA_DECODING_PROGRESS=0: no progress bar, no pooch log lines
    for name in settings.FILE_NAMES:
        assert f"{download.REAL_FILES[name].md5}  {dest / name}" in out
        assert md5(dest / name) == download.REAL_FILES[name].md5
    assert leftovers(dest) == sorted(settings.FILE_NAMES)  # no lock, no temporary file


def test_cli_failure_exits_nonzero_with_a_clear_message(tmp_path):
    dest = tmp_path / "room"
    env = {
        **os.environ,
        "NMA_DECODING_CACHE": str(tmp_path / "cache"),
        "NMA_DECODING_URL_BASE": closed_port_url(),
        "NMA_DECODING_PROGRESS": "0",
    }
    env.pop("NMA_DECODING_DATA", None)
    cmd = [sys.executable, "-m", "helpers.data", "fetch", "--source", "osf", "--dest", str(dest)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("error: Could not download the data file")
    assert "Traceback" not in done.stderr
    assert leftovers(dest) == []


def test_cli_rejects_an_unknown_source(capsys):
    with pytest.raises(SystemExit) as info:
        data.main(["fetch", "--source", "internet"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------
# The real generator (helpers.data.synthetic), once


def _real_synthetic_or_skip():
    try:
        import helpers.data.synthetic as synthetic
    except ImportError as err:
        pytest.skip(f"helpers.data.synthetic not importable yet: {err}")
    return synthetic


def test_real_generator_standin_is_cached_and_loads(monkeypatch, cache):
    import torch

    synthetic = _real_synthetic_or_skip()
    monkeypatch.setattr(settings, "N_NEURONS", REAL_N)
    N = REAL_N
    start = time.monotonic()
    resp, stimuli = data.load_data(bin_width=6, source="synthetic")
    elapsed = time.monotonic() - start
    train, test, split_stimuli = data.load_data_split(source="synthetic")
    assert resp.shape == (60, N) and stimuli.shape == (60, 1)
    assert train.shape == test.shape == (60, N) and split_stimuli.shape == (60, 1)
    assert torch.isfinite(resp).all() and torch.isfinite(train).all()
    names = leftovers(cache)
    tag = f"_v{synthetic.GENERATOR_VERSION}_seed{synthetic.StandInParams().seed}_"
    assert sum(tag in n and n.endswith(".npz") for n in names) == 2
    assert elapsed < 60  # generation budget is 10 s; this only catches a runaway
