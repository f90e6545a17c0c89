// A stored replay (asynclab/course/animation.py): adds Play and a time slider in any page
// that runs the output's script (the course website, a trusted notebook).
// Two pictures of the same figure: everything drawn (data.full), and everything behind
// the curtain (data.curtain). Frame k shows the first, then copies the second over each
// axes' box from the clock's position (k / frames of the width) to the right edge, as
// the live widget's white curtain hides what has not happened yet. The canvas takes the
// place of the <img>, the figure at the replay's time for pages that run no script.
(function () {
  "use strict";
  function start(root) {
    root.dataset.ready = "starting";
    const data = JSON.parse(root.querySelector("script.asynclab-replay-data").textContent);
    const shown = root.querySelector("img.asynclab-figure");
    const status = root.querySelector(".asynclab-status");
    const full = new Image(), curtain = new Image();
    full.src = data.full;
    curtain.src = data.curtain;
    const controls = document.createElement("div");
    controls.className = "asynclab-replay-controls";
    const play = document.createElement("button");
    play.type = "button";
    play.className = "asynclab-play";
    play.textContent = "Play";
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", className: "asynclab-time", min: 0,
                            max: data.frames, value: data.first });
    slider.setAttribute("aria-label", "time");
    controls.append(play, " ", slider);
    const canvas = document.createElement("canvas");
    canvas.className = "asynclab-figure";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", shown.alt);
    const ctx = canvas.getContext("2d");
    let timer = null;

    function draw(fraction, text) {
      ctx.drawImage(full, 0, 0);
      for (const [left, top, right, bottom] of data.boxes) {
        const x = left + (right - left) * fraction;
        const width = right - x + 1, height = bottom - top;
        if (width > 0) ctx.drawImage(curtain, x, top, width, height, x, top, width, height);
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
    Promise.all([full.decode(), curtain.decode()]).then(() => {
      canvas.width = full.naturalWidth;          // the pictures' pixels (2 per CSS pixel),
      canvas.height = full.naturalHeight;
      canvas.style.width = shown.width + "px";   // shown at the figure's size: sharp on
      canvas.style.maxWidth = "100%";            // high-DPI screens, and no wider than the page
      shown.replaceWith(canvas);
      root.insertBefore(controls, canvas);
      draw(data.start.fraction, data.start.text);
      root.dataset.ready = "yes";
    });
  }
  document.querySelectorAll(".asynclab-replay-animation:not([data-ready])").forEach(start);
})();
