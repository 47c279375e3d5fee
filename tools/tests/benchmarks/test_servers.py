"""The servers under test: exactly pinned, the same scikit-learn as the training code, 2 workers, loopback only."""

import json
from pathlib import Path

from delivery_tools.benchmarks.servers import PEERS_DIR, SERVERS, WORKERS, Launch, Models
from delivery_tools.benchmarks.venvs import requirement_pins

PEER_KEYS = ("gunicorn_flask", "mlserver", "kserve")


def pins(path: Path) -> dict[str, str]:
    return requirement_pins(path.read_text())


def test_every_server_has_its_own_exactly_pinned_requirements_file(project_root: Path) -> None:
    assert [s.key for s in SERVERS] == ["model_server", *PEER_KEYS]
    assert SERVERS[0].requirements == project_root / "model_image" / "requirements.txt"
    for key in PEER_KEYS:
        server = next(s for s in SERVERS if s.key == key)
        assert server.requirements == PEERS_DIR / key / "requirements.txt"
        assert pins(server.requirements), key  # exact pins only, or requirement_pins raises


def test_the_scikit_learn_servers_unpickle_with_the_scikit_learn_that_trained_the_model(project_root: Path) -> None:
    training = pins(project_root / "model_image" / "requirements-train.txt")
    for key in ("gunicorn_flask", "mlserver"):
        assert pins(PEERS_DIR / key / "requirements.txt")["scikit-learn"] == training["scikit-learn"], key


def test_onnx_servers_run_the_same_onnxruntime_and_numpy_as_our_image(project_root: Path) -> None:
    ours, kserve = (
        pins(project_root / "model_image" / "requirements.txt"),
        pins(PEERS_DIR / "kserve" / "requirements.txt"),
    )
    assert (kserve["onnxruntime"], kserve["numpy"]) == (ours["onnxruntime"], ours["numpy"])


def test_mlserver_keeps_the_uvloop_its_parallel_workers_run_with() -> None:
    # MLServer 1.7.1's parallel workers fail with uvloop 0.23 (SeldonIO/MLServer#2286).
    assert pins(PEERS_DIR / "mlserver" / "requirements.txt")["uvloop"] == "0.21.0"


def launch(key: str, tmp_path: Path) -> Launch:
    server = next(s for s in SERVERS if s.key == key)
    return server.launch(tmp_path / "bin" / "python", 18080, Models(tmp_path / "onnx", tmp_path / "m.joblib"), tmp_path)


def test_ours_starts_as_the_image_starts_it(tmp_path: Path, project_root: Path) -> None:
    ours = launch("model_server", tmp_path)
    assert ours.command[1:] == ["-m", "model_server", "serve"]
    assert ours.cwd != project_root / "model_image", "the installed package runs, not the source folder"
    (server,) = (server for server in SERVERS if server.key == "model_server")
    assert server.package == project_root / "model_image", "installed from its distribution, as the image does"
    assert ours.env == {"HOST": "127.0.0.1", "PORT": "18080", "WORKERS": "2", "MODEL_DIR": str(tmp_path / "onnx")}


def test_gunicorn_runs_2_sync_workers_on_loopback(tmp_path: Path) -> None:
    gunicorn = launch("gunicorn_flask", tmp_path)
    assert gunicorn.command[1:] == ["-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:18080", "flask_app:app"]
    assert (gunicorn.cwd / "flask_app.py").is_file()
    assert gunicorn.env == {"BENCH_MODEL": str(tmp_path / "m.joblib")}


def test_mlserver_gets_settings_files_with_2_parallel_workers_on_loopback(tmp_path: Path) -> None:
    mlserver = launch("mlserver", tmp_path)
    folder = tmp_path / "mlserver-18080"
    assert mlserver.command == [str(tmp_path / "bin" / "mlserver"), "start", str(folder)]
    settings = json.loads((folder / "settings.json").read_text())
    assert (settings["host"], settings["http_port"], settings["parallel_workers"]) == ("127.0.0.1", 18080, WORKERS)
    assert len({settings["http_port"], settings["grpc_port"], settings["metrics_port"]}) == 3
    model = json.loads((folder / "iris" / "model-settings.json").read_text())
    assert model["implementation"] == "mlserver_sklearn.SKLearnModel"
    assert model["parameters"]["uri"] == str(tmp_path / "m.joblib")


def test_kserve_runs_2_workers_without_grpc_bound_to_loopback(tmp_path: Path) -> None:
    kserve = launch("kserve", tmp_path)
    arguments = " ".join(kserve.command[2:])
    assert "--http_port 18080" in arguments and "--workers 2" in arguments and "--enable_grpc false" in arguments
    assert "--model_name iris" in arguments and f"--model_dir {tmp_path / 'onnx'}" in arguments
    script = Path(kserve.command[1]).read_text()
    assert '"host": "127.0.0.1"' in script and "uvicorn.Config = LoopbackConfig" in script
