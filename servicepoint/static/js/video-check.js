// Device check: camera and microphone go to the server and come back (loopback), so
// the connection to the server is proven, not only the local camera.
(function () {
  "use strict";
  var button = document.getElementById("check-button");
  if (!button) { return; }
  var texts = document.getElementById("check-texts").dataset;
  var statusEl = document.getElementById("check-status");
  var video = document.getElementById("check-video");
  button.addEventListener("click", async function () {
    statusEl.textContent = texts.running;
    try {
      var stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480}});
      var pc = new RTCPeerConnection({iceServers: []});
      window.videoPeer = pc;
      stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
      pc.ontrack = function (event) {
        if (event.track.kind === "video") { video.srcObject = new MediaStream([event.track]); }
      };
      video.addEventListener("playing", function () { statusEl.textContent = texts.ok; }, {once: true});
      await pc.setLocalDescription(await pc.createOffer());
      var response = await fetch("/api/v1/video/check", {method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({sdp: pc.localDescription.sdp, type: "offer"})});
      if (!response.ok) { throw new Error("check refused"); }
      await pc.setRemoteDescription(await response.json());
    } catch (e) {
      statusEl.textContent = texts.failed;
    }
  });
}());
