// The course website's quizzes (lessons/site.py writes their forms and the question
// bank's data into each page) and the learner's progress, kept in this browser's
// localStorage. The feedback model is the notebook widget's:
//  - a wrong answer shows only the explanation of what was chosen, and asks to try again;
//  - a right answer, or "Show solution", shows every option with its explanation;
//  - a numeric answer matches an option within the question's tolerance; a number no
//    option anticipated gets the question's "otherwise" text.
(function () {
  "use strict";
  // One store per site: the folder above assets/ (several sites may share an origin).
  const KEY = "asynclab-progress:" + new URL("..", document.currentScript.src).pathname;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save(progress) {
    try { localStorage.setItem(KEY, JSON.stringify(progress)); } catch (e) { /* private mode */ }
  }
  function record(id, change) {
    const progress = load();
    const entry = progress[id] || { attempts: 0, solved: false, revealed: false };
    change(entry);
    progress[id] = entry;
    save(progress);
  }

  // Numeric answers as asynclab/course/numeric.py reads them: a number or a fraction, then
  // a percent sign or a unit ("52%", "1.2 s", "130 ms"), converted to the question's unit.
  const NUMBER = "[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?";
  const ANSWER = new RegExp("^\\s*(" + NUMBER + ")\\s*(?:/\\s*(" + NUMBER + ")\\s*)?" +
                            "(%|[^\\W\\d_][^\\d]*?)?\\s*$", "i");
  const SECONDS = { s: 1, sec: 1, second: 1, seconds: 1,
                    ms: 1e-3, millisecond: 1e-3, milliseconds: 1e-3 };
  const EXAMPLE = "e.g. 2.5, 5/2, 52% or 1.2 s";
  function parseNumber(text, unit) {   // a number in the question's unit, or an error text
    const m = ANSWER.exec(text);
    const bad = "The answer must be a number (" + EXAMPLE + ").";
    if (!m) return bad;
    const value = m[2] === undefined ? Number(m[1])
      : Number(m[2]) !== 0 ? Number(m[1]) / Number(m[2]) : NaN;
    if (!Number.isFinite(value)) return bad;
    const said = (m[3] || "").trim().replace(/\.+$/, "").toLowerCase();
    const time = name => Object.prototype.hasOwnProperty.call(SECONDS, name);
    if (said === "%" && (unit === null || unit === "%")) return unit === "%" ? value : value / 100;
    if (time(said) && time(unit)) return value * SECONDS[said] / SECONDS[unit];
    if (said && unit !== null && (time(said) || said === "%" || time(unit))) {
      return "This answer is in " + unit + ".";
    }
    return value;
  }
  function short(value) { return String(Number(value.toPrecision(4))); }

  function escape(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }
  function list(items) {               // [label, explanation] as HTML (site.py typeset them)
    return "<ul>" + items.map(([label, why]) =>
      "<li><b>" + label + "</b><br>" + why + "</li>").join("") + "</ul>";
  }
  function verdict(text, typeset) {   // plain text, then an option's typeset HTML if any
    return "<p class='asynclab-verdict'><b>" + escape(text) + (typeset || "") + "</b></p>";
  }
  const RETRY = "<p class='asynclab-retry'>Try again: change your answer and press Check, " +
                "or press Show solution.</p>";

  function setUp(form) {
    const q = JSON.parse(form.querySelector("script.asynclab-quiz-data").textContent);
    const feedback = form.querySelector(".asynclab-feedback");
    const inputs = Array.from(form.querySelectorAll("input[name=answer]"));
    const right = q.options.filter(o => o.correct);

    function chosen() {                // indices in shown order, or a number, or null
      if (q.kind === "numeric") return inputs[0].value.trim() === "" ? null : inputs[0].value;
      const picked = inputs.filter(i => i.checked).map(i => Number(i.value));
      return picked.length ? picked : null;
    }
    function everyOption(picked) {     // [label, explanation] of each option, marked
      return q.options.map((o, n) => {
        const label = q.kind === "numeric" ? o.text : escape(o.letter) + ". " + o.text;
        let tag = o.correct ? "right" : "wrong";
        if (picked && (q.kind === "multiple" || picked.includes(n))) {
          tag += picked.includes(n) ? "; you chose it" : "; you left it out";
        }
        return [(o.correct ? "✓ " : "✗ ") + label + (q.kind === "numeric" ? "" : " (" + tag + ")"),
                o.explanation];
      });
    }
    function solution() {
      if (q.kind === "numeric") {
        return verdict("Answer: ", right[0].text + " (within ±" + q.tolerance + ").") +
               list(everyOption(null));
      }
      return verdict("Answer: " + right.map(o => o.letter).join(", ") + ".") +
             list(everyOption(null));
    }
    function check(answer) {           // [correct, html]
      if (q.kind === "numeric") {
        const value = parseNumber(answer, q.unit);
        if (typeof value === "string") return [null, "<p>" + escape(value) + "</p>"];
        const match = q.options.find(o => Math.abs(value - o.value) <= q.tolerance);
        if (match && match.correct) {
          return [true, verdict("✓ Correct: " + short(value) + " is within ±" + q.tolerance +
                                " of ", match.text + ".") + list(everyOption(null))];
        }
        return [false, verdict("✗ Not quite: you answered " + short(value) + ".") +
                       list([["✗ " + short(value), match ? match.explanation : q.otherwise]]) + RETRY];
      }
      const letters = answer.map(n => q.options[n].letter).join(", ");
      const correct = answer.length === right.length && answer.every(n => q.options[n].correct);
      if (correct) return [true, verdict("✓ Correct: " + letters + ".") + list(everyOption(answer))];
      return [false, verdict("✗ Not quite: you chose " + letters + ".") +
                     list(answer.map(n => [escape(q.options[n].letter) + ". " + q.options[n].text,
                                           q.options[n].explanation])) + RETRY];
    }
    function restore(answer) {
      if (q.kind === "numeric") inputs[0].value = answer;
      else inputs.forEach(i => { i.checked = answer.includes(Number(i.value)); });
    }

    form.addEventListener("submit", event => {
      event.preventDefault();
      const answer = chosen();
      if (answer === null) {
        feedback.innerHTML = "<p>Choose an answer first, then press Check.</p>";
        return;
      }
      const [correct, shown] = check(answer);
      feedback.innerHTML = shown;
      feedback.dataset.state = correct === null ? "invalid" : correct ? "right" : "wrong";
      if (correct === null) return;
      record(q.id, entry => {
        entry.attempts += 1;
        entry.solved = entry.solved || correct;
        entry.last = answer;
      });
    });
    form.querySelector(".asynclab-reveal").addEventListener("click", () => {
      feedback.innerHTML = solution();
      feedback.dataset.state = "revealed";
      record(q.id, entry => { entry.revealed = true; });
    });

    const saved = load()[q.id];        // come back to a solved question: it stays solved
    if (saved && saved.solved && saved.last !== undefined) {
      restore(saved.last);
      feedback.innerHTML = check(saved.last)[1] +
        "<p class='asynclab-note'>(answered earlier in this browser)</p>";
      feedback.dataset.state = "right";
    } else if (saved && saved.revealed) {
      feedback.innerHTML = solution();
      feedback.dataset.state = "revealed";
    }
    form.dataset.ready = "yes";
  }

  function showProgress(span) {        // the table of contents: solved questions per lesson
    const ids = span.dataset.questions.split(" ").filter(Boolean);
    if (!ids.length) return;
    const progress = load();
    const solved = ids.filter(id => progress[id] && progress[id].solved).length;
    const tried = ids.filter(id => progress[id]).length;
    span.textContent = tried
      ? "quizzes: " + solved + " of " + ids.length + " solved in this browser"
      : ids.length + " quiz questions";
  }

  document.querySelectorAll("form.asynclab-quiz").forEach(setUp);
  document.querySelectorAll(".asynclab-progress").forEach(showProgress);
  document.querySelectorAll(".asynclab-forget").forEach(button =>
    button.addEventListener("click", () => {
      localStorage.removeItem(KEY);
      document.querySelectorAll(".asynclab-progress").forEach(showProgress);
    }));
})();
