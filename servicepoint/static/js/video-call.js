// The call page of citizens and clerks: one RTCPeerConnection to the server, which
// relays audio and video; chat and call state over the "chat" data channel.
(function () {
  "use strict";
  var root = document.getElementById("video-call");
  if (!root) { return; }
  var texts = document.getElementById("video-texts").dataset;
  var role = root.dataset.role;
  var token = root.dataset.token;
  var consultation = root.dataset.consultation;
  // Named in the URL, so that a proxy in front of several web processes can send every
  // request of this call to the same one (docs/operations.md, "Scaling out").
  var routed = "?consultation=" + encodeURIComponent(consultation);
  var statusEl = document.getElementById("video-status");
  var remoteVideo = document.getElementById("remote-video");
  var localVideo = document.getElementById("local-video");
  var chatLog = document.getElementById("chat-log");
  var pc = null, channel = null, stream = null, screenTrack = null, ended = false;

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }
  function status(text) { statusEl.textContent = text; }
  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
      credentials: "same-origin", body: JSON.stringify(body || {})});
  }
  function addChat(who, text) {
    var item = document.createElement("li");
    var name = document.createElement("strong");
    name.textContent = who + ": ";
    item.appendChild(name);
    item.appendChild(document.createTextNode(text));
    chatLog.appendChild(item);
  }
  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.type === "chat") { addChat(texts.other, message.text); }
    else if (message.type === "state") {
      if (message.state === "waiting" && role === "citizen") {
        status(fill(texts.waiting, {position: message.position, minutes: message.wait_minutes}));
      } else if (message.state === "waiting") {
        status(message.citizen_present ? texts.citizenWaiting : texts.nobody);
      } else { status(texts.admitted); }
    } else if (message.type === "ended") { finish(); }
    else if (message.type === "capture-request") {
      var box = document.getElementById("consent-box");
      if (box) { box.hidden = false; document.getElementById("consent-button").focus(); }
    } else if (message.type === "capture-consent") { status(texts.consent); }
  }
  function waitForIce(connection) {
    if (connection.iceGatheringState === "complete") { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var done = function () {
        if (connection.iceGatheringState === "complete") {
          connection.removeEventListener("icegatheringstatechange", done);
          resolve();
        }
      };
      connection.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
  }
  function finish() {
    ended = true;
    if (pc) { pc.close(); pc = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    if (screenTrack) { screenTrack.stop(); }
    status(texts.ended);
  }
  async function join() {
    status(texts.connecting);
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480}});
    } catch (e) { stream = null; }
    localVideo.srcObject = stream;
    pc = new RTCPeerConnection({iceServers: []});
    window.videoPeer = pc;  // for diagnostics (getStats) from the console and tests
    if (stream) { stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); }); }
    else {
      pc.addTransceiver("audio", {direction: "recvonly"});
      pc.addTransceiver("video", {direction: "recvonly"});
    }
    channel = pc.createDataChannel("chat");
    channel.onmessage = onMessage;
    pc.ontrack = function (event) {
      if (event.track.kind === "video") {
        remoteVideo.srcObject = event.streams[0] || new MediaStream([event.track]);
      } else if (remoteVideo.srcObject) {
        remoteVideo.srcObject.addTrack(event.track);
      }
    };
    pc.onconnectionstatechange = function () {
      if (pc && pc.connectionState === "failed" && !ended) { status(texts.failed); }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc);
    var response = await post("/api/v1/video/offer" + routed,
      {token: token, sdp: pc.localDescription.sdp, type: "offer", consultation_id: consultation});
    if (response.status === 503) {
      var busy = await response.json();
      status(fill(texts.busy, {minutes: busy.retry_after_minutes}));
      pc.close(); pc = null;
      return;
    }
    if (!response.ok) { status(texts.failed); pc.close(); pc = null; return; }
    await pc.setRemoteDescription(await response.json());
  }
  // Toggle buttons keep their label ("Mikrofon aus"); aria-pressed says whether it applies.
  function toggle(button, kind) {
    if (!stream) { return; }
    var tracks = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    var off = button.getAttribute("aria-pressed") !== "true";
    tracks.forEach(function (t) { t.enabled = !off; });
    button.setAttribute("aria-pressed", off ? "true" : "false");
  }
  function videoSender() {
    return pc && pc.getSenders().find(function (s) { return s.track && s.track.kind === "video"; });
  }
  async function share(button) {
    var sender = videoSender();
    if (!sender) { return; }
    if (screenTrack) {
      screenTrack.stop(); screenTrack = null;
      await sender.replaceTrack(stream ? stream.getVideoTracks()[0] : null);
      button.setAttribute("aria-pressed", "false");
      return;
    }
    var display = await navigator.mediaDevices.getDisplayMedia({video: true});
    screenTrack = display.getVideoTracks()[0];
    screenTrack.onended = function () { if (screenTrack) { share(button); } };
    await sender.replaceTrack(screenTrack);
    button.setAttribute("aria-pressed", "true");
  }
  function clerkCall(path, body) {
    return post("/api/v1/consultations/" + consultation + path, Object.assign({token: token}, body || {}));
  }

  document.getElementById("join-button").addEventListener("click", function (event) {
    event.target.hidden = true;
    join().catch(function () { status(texts.failed); });
  });
  var mute = document.getElementById("mute-button");
  mute.addEventListener("click", function () { toggle(mute, "audio"); });
  var camera = document.getElementById("camera-button");
  camera.addEventListener("click", function () { toggle(camera, "video"); });
  var shareButton = document.getElementById("share-button");
  if (shareButton) { shareButton.addEventListener("click", function () { share(shareButton).catch(function () {}); }); }
  document.getElementById("hangup-button").addEventListener("click", function () {
    if (channel && channel.readyState === "open") { channel.send(JSON.stringify({type: "hangup"})); }
    post("/api/v1/video/hangup" + routed, {token: token});
    finish();
  });
  document.getElementById("chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("chat-input");
    if (!input.value || !channel || channel.readyState !== "open") { return; }
    channel.send(JSON.stringify({type: "chat", text: input.value}));
    addChat(texts.me, input.value);
    input.value = "";
  });
  var consent = document.getElementById("consent-button");
  if (consent) {
    consent.addEventListener("click", function () {
      if (channel) { channel.send(JSON.stringify({type: "capture-consent"})); }
      document.getElementById("consent-box").hidden = true;
    });
  }
  var buttons = {
    "admit-button": function () { return clerkCall("/admit"); },
    "tutorial-button": function () {
      return clerkCall("/tutorial", {tutorial: document.getElementById("tutorial-input").value});
    },
    "camera-back-button": function () { return clerkCall("/camera"); },
    "consent-request-button": function () { return clerkCall("/capture-request"); },
    "capture-button": function () { return clerkCall("/capture"); }
  };
  Object.keys(buttons).forEach(function (id) {
    var button = document.getElementById(id);
    if (button) {
      button.addEventListener("click", function () {
        buttons[id]().then(function (r) { if (!r.ok) { status(texts.failed); } });
      });
    }
  });
  // Tab closed or navigated away: leave at once, so the line is free again.
  window.addEventListener("pagehide", function () {
    if (pc && !ended) {
      navigator.sendBeacon("/api/v1/video/hangup" + routed,
        new Blob([JSON.stringify({token: token, leave_only: true})], {type: "application/json"}));
    }
  });
}());
