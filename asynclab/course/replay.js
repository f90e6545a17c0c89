// A stored replay (asynclab/course/animation.py): Play and a time slider in any page that
// runs the output's script (the course website, a trusted notebook).
// Two pictures of the same figure: everything drawn, and everything behind the curtain.
// Frame k shows the first picture, then copies the second over each axes' box from the
// clock's position (k / frames of the width) to the right edge, as the live widget's
// white curtain hides what has not happened yet.
(function () {
  "use strict";
  function start(root) {
    root.dataset.ready = "starting";
    const data = JSON.parse(root.querySelector("script.asynclab-replay-data").textContent);
    const full = root.querySelector("img.asynclab-replay-full");
    const empty = root.querySelector("img.asynclab-replay-empty");
    const slider = root.querySelector("input.asynclab-time");
    const play = root.querySelector("button.asynclab-play");
    const status = root.querySelector(".asynclab-status");
    const canvas = document.createElement("canvas");
    canvas.className = "asynclab-figure";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", full.alt);
    const ctx = canvas.getContext("2d");
    let timer = null;

    function draw(fraction, text) {
      ctx.drawImage(full, 0, 0);
      for (const [left, top, right, bottom] of data.boxes) {
        const x = left + (right - left) * fraction;
        const width = right - x + 1, height = bottom - top;
        if (width > 0) ctx.drawImage(empty, x, top, width, height, x, top, width, height);
        ctx.fillStyle = "black";
        ctx.fillRect(x - 0.5, top, 1, height);
      }
      status.textContent = text;
    }
    function show(frame) {
      slider.value = frame;
      draw(frame / data.frames, data.texts[frame]);
    }
    function stop() {
      clearInterval(timer);
      timer = null;
      play.textContent = "Play";
    }
    function advance() {
      const frame = Number(slider.value) + 1;
      if (frame > data.frames) return stop();
      show(frame);
    }
    slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
    play.addEventListener("click", () => {
      if (timer) return stop();
      if (Number(slider.value) >= data.frames) show(0);  // at the end: play from the start
      play.textContent = "Pause";
      timer = setInterval(advance, data.interval);
    });
    Promise.all([full.decode(), empty.decode()]).then(() => {
      canvas.width = full.naturalWidth;
      canvas.height = full.naturalHeight;
      full.replaceWith(canvas);
      draw(data.start.fraction, data.start.text);
      slider.hidden = play.hidden = false;
      root.dataset.ready = "yes";
    });
  }
  document.querySelectorAll(".asynclab-replay-animation:not([data-ready])").forEach(start);
})();
