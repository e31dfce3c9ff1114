"""Truncated uploads are refused as incomplete, wherever the cut falls: PyAV writes the
MP4 index (moov) after the media data, so a file cut in half opens without any stream
and must not be mistaken for a video with a codec that is not allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tutorials.test_upload import encode
from tutorials import service

INCOMPLETE = "Die Videodatei ist beschädigt oder unvollständig und kann nicht gelesen werden."


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.9])
def test_an_mp4_cut_anywhere_is_refused_as_incomplete(tmp_path: Path, keep: float) -> None:
    video = encode(tmp_path / "whole.mp4", "libx264", 2.0)
    assert service.probe_video(video, "mp4").video_codec == "h264"
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(service.VideoRejected) as refused:
        service.probe_video(cut, "mp4")
    assert refused.value.status_code == 422
    assert refused.value.message("de") == INCOMPLETE
    assert (
        refused.value.message("en") == "The video file is damaged or incomplete and cannot be read."
    )
