// The tutorial player: speed control, chapter links that seek, anonymous view and
// completion counters. The page works without this script (chapter links reload the
// page with ?t= and the video starts there through a media fragment).
(function () {
  "use strict";
  var video = document.getElementById("tutorial-video");
  if (!video) {
    return;
  }
  var slug = video.getAttribute("data-slug");

  var rate = document.getElementById("playback-rate");
  if (rate) {
    rate.addEventListener("change", function () {
      video.playbackRate = parseFloat(rate.value) || 1;
    });
  }

  var links = document.querySelectorAll(".chapter-link");
  Array.prototype.forEach.call(links, function (link) {
    link.addEventListener("click", function (event) {
      var start = parseFloat(link.getAttribute("data-start"));
      if (isNaN(start)) {
        return;
      }
      event.preventDefault();
      video.currentTime = start;
      var playing = video.play();
      if (playing && playing.catch) {
        playing.catch(function () {});
      }
      video.focus();
    });
  });

  function count(kind) {
    if (!window.fetch) {
      return;
    }
    fetch("/api/v1/tutorials/" + encodeURIComponent(slug) + "/" + kind, {
      method: "POST",
      keepalive: true,
      credentials: "omit"
    }).catch(function () {});
  }

  var viewed = false;
  video.addEventListener("play", function () {
    if (!viewed) {
      viewed = true;
      count("views");
    }
  });
  video.addEventListener("ended", function () {
    count("completions");
  });
})();
