"""``servicepoint up --scale`` says what is missing before it starts anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from servicepoint.scale import ScaleLayout, WebNode, render_nginx_conf
from servicepoint.settings import Settings
from tests.conftest import REPO_ROOT, free_port


def test_scale_refuses_a_prefect_server_on_sqlite_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICEPOINT_", "PREFECT_"))}
    argv = [sys.executable, "-m", "servicepoint.cli", "up", "--scale"]
    argv += ["--data-dir", str(tmp_path), "--port", str(free_port())]
    result = subprocess.run(
        argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert "SERVICEPOINT_PREFECT_DATABASE_URL=postgresql+asyncpg://" in result.stderr
    assert not (tmp_path / "parts.json").exists()  # nothing was started


def test_the_nginx_configuration_names_every_web_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, port=18000)
    layout = ScaleLayout(settings, web_ports=(18001, 18002, 18003))
    text = render_nginx_conf(layout).read_text()
    assert layout.nodes == [
        WebNode("web-1", 18001),
        WebNode("web-2", 18002),
        WebNode("web-3", 18003),
    ]
    for port in (18001, 18002, 18003):
        assert text.count(f"server 127.0.0.1:{port} ") == 2  # everything, and the calls
    assert "hash $servicepoint_consultation consistent;" in text
    assert "listen 127.0.0.1:18000;" in text
    body = settings.max_upload_bytes * settings.max_files_per_application + 1024 * 1024
    assert f"client_max_body_size {body};" in text
    checked = subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path / "nginx"),
            "-c",
            str(tmp_path / "nginx" / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
