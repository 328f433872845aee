// The show page's seat map: drawn as SVG from GET /api/shows/{id}/seats; picked seats
// (or the best ones) are held with POST /api/holds and booked with POST /api/bookings,
// as any client of the API would. Plain JavaScript, no library. Without it the page
// is a form of checkboxes that the server books itself.
"use strict";
(function () {
  const page = document.getElementById("show-page");
  const form = document.getElementById("book");
  if (!page || !form || !window.fetch) return;

  const $ = (id) => document.getElementById(id);
  const SENTENCES = JSON.parse($("sentences").textContent);
  // Each seat category's outline ({width, dash}), as the admin's map draws it: a premium
  // seat is told from a standard one by its border, not by colour alone.
  const OUTLINES = JSON.parse($("outlines").textContent);
  const PLAIN = { width: "1.2", dash: "none" };
  const showId = Number(page.dataset.show);
  const startsAt = Date.parse(page.dataset.startsAt);
  const currency = page.dataset.currency;
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const counts = Array.from(form.querySelectorAll("#tickets input[type=number]"));
  const message = $("message");
  const SVG = "http://www.w3.org/2000/svg";
  const CELL = 26, SIZE = 22, MARGIN = 30, TOP = 46, MAX_GAP = 4, MAX_SEATS = 10;
  const KIND_WORDS = { seat: "seat", wheelchair: "wheelchair space", companion: "companion seat" };
  const STATUS_WORDS = { free: "free", mine: "picked", held: "held by someone", booked: "booked", blocked: "not on sale" };

  let seats = []; // every seat of the map: {label, row, col, category, kind, status, g}
  let rows = []; // seats by row
  let focused = null; // the seat the arrow keys move from (roving tabindex)
  const picked = new Set();
  let hold = null;
  // The hold asked for and its Idempotency-Key: the same request sent again (its answer was
  // lost) is answered with the hold it made, not a second hold the page knows nothing of.
  let holdAsked = null;
  // The confirms whose answers were lost, with their holds: one of them may have booked (below).
  const confirmsLost = [];
  let ticking = null;
  let withoutMap = false; // the map didn't load: the page is the form that works without the script
  let seatsLeft = Infinity; // the seats the map last drawn can sell
  let skew = 0; // the service's clock less this device's, by the last answer's Date

  function say(text) {
    message.textContent = text || "";
  }

  function sentence(status, body, retryAfter) {
    if (!body) return SENTENCES.network;
    if (body.code === "single_seat_gap") return SENTENCES.single_seat_gap.replace("{seat}", body.seat);
    if (body.code === "seats_per_hour") {
      const minutes = Math.max(1, Math.ceil((Number(retryAfter) || 60) / 60));
      return SENTENCES.seats_per_hour.replace("{minutes}", minutes === 1 ? "a minute" : `${minutes} minutes`);
    }
    if (body.code && SENTENCES[body.code]) return SENTENCES[body.code];
    if (status === 429) return SENTENCES.throttled;
    if (body.detail) return body.detail;
    return messages(body).join(" "); // a 400: the messages of each field
  }

  // A refused name or phone number told beside its field too (its input aria-invalid and
  // described by it), the first such field focused: the form's alert is above the map, far
  // from the field. Cleared by an answer that refuses neither.
  function markFields(body) {
    let first = null;
    for (const name of ["name", "phone_number"]) {
      const input = form.elements[name];
      const note = $(`${name}-error`);
      const said = body && typeof body === "object" && body[name] ? messages(body[name]).join(" ") : "";
      note.textContent = said;
      note.hidden = !said;
      if (said) {
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      } else {
        input.removeAttribute("aria-invalid");
      }
    }
    if (first) first.focus();
  }

  // A 400's messages, however deep: a count of one ticket type is refused inside its
  // field ({"ticket_types": {"adult": ["..."]}}), and a seat inside the list of seats.
  function messages(value) {
    if (typeof value === "string") return [value];
    if (value && typeof value === "object") return Object.values(value).flatMap(messages);
    return [];
  }

  async function api(method, url, data, headers = {}) {
    // One request at a time: a double click holds or books once.
    const buttons = Array.from(form.querySelectorAll("button"));
    const pressed = document.activeElement;
    buttons.forEach((button) => (button.disabled = true));
    try {
      return await send(method, url, data, headers);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
      // A button disabled while it had the focus lost it to the page's body: given back, a
      // keyboard or screen reader user told a refusal goes on from the button pressed, not
      // from the top of the page.
      const now = document.activeElement;
      if (buttons.includes(pressed) && (!now || now === document.body) && !pressed.closest("[hidden]")) pressed.focus();
    }
  }

  async function send(method, url, data, headers = {}) {
    let response;
    try {
      response = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf, ...headers },
        body: data ? JSON.stringify(data) : undefined,
      });
    } catch (error) {
      return { ok: false, status: 0, body: null };
    }
    let body = null;
    if (response.status !== 204) {
      try {
        body = await response.json();
      } catch (error) {
        body = null;
      }
    }
    const got = response.headers;
    const served = Date.parse(got.get("Date"));
    if (served) skew = served - Date.now();
    return { ok: response.ok, status: response.status, body, date: got.get("Date"), retryAfter: got.get("Retry-After") };
  }

  function node(name, attrs, parent, text) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    if (parent) parent.appendChild(element);
    return element;
  }

  // --- the map ----------------------------------------------------------------------

  // The map may be kept by the service for a second (SEAT_MAP_CACHE_SECONDS): after this
  // page's own hold, release or refused request it asks for a fresh one (fresh = true).
  async function loadMap(fresh = false) {
    if (withoutMap) return;
    const answer = await api("GET", `/api/shows/${showId}/seats`, undefined, fresh ? { "Cache-Control": "no-cache" } : {});
    if (!answer.ok && !seats.length) return formInstead(answer.status);
    if (!answer.ok) {
      say(sentence(answer.status, answer.body, answer.retryAfter));
      return;
    }
    if (hasStarted()) return showStarted();
    draw(answer.body.rows, answer.body.seats_available);
  }

  // No map drawn yet, and none comes (a 429 from the anonymous throttle: a premiere's crowd
  // behind one address; no connection; the service down): the page goes back to what it is
  // without the script, its list of seats and a form the server books, rather than leave
  // the customer only "the best seats". Nothing is held yet, so nothing is lost.
  function formInstead(status) {
    withoutMap = true;
    $("map-area").hidden = true;
    $("hold-buttons").hidden = true;
    $("seat-list").disabled = false;
    $("seat-list").hidden = false;
    $("person").hidden = false;
    $("book-button").textContent = bookLabel;
    form.removeEventListener("submit", book);
    say(status === 429 ? SENTENCES.map_throttled : SENTENCES.map_failed);
  }

  function draw(mapRows, available) {
    // Each x's column: an aisle is a gap, narrowed to MAX_GAP - 1 empty places.
    const xs = [...new Set(mapRows.flatMap((row) => row.seats.map((seat) => seat.x)))].sort((a, b) => a - b);
    const column = new Map();
    xs.forEach((x, i) => column.set(x, i === 0 ? 0 : column.get(xs[i - 1]) + Math.min(x - xs[i - 1], MAX_GAP)));
    const columns = xs.length ? column.get(xs[xs.length - 1]) + 1 : 0;
    const width = 2 * MARGIN + columns * CELL;
    const height = TOP + mapRows.length * CELL + 6;
    const mine = new Set(hold ? hold.seats : []);
    const pickedBefore = picked.size;
    // A show capped below its map sells out with seats free: those are not on sale.
    const capped = available !== undefined && available <= 0;

    const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "group" });
    // On a phone a wide map keeps seats big enough to tap, and scrolls sideways in its box.
    svg.style.minWidth = `${Math.min(width, columns * 17 + 2 * MARGIN)}px`;
    node("path", { d: `M${MARGIN} 12Q${width / 2} 0 ${width - MARGIN} 12`, fill: "none", stroke: "#555", "stroke-width": 3, "aria-hidden": "true" }, svg);
    node("text", { x: width / 2, y: 30, "text-anchor": "middle", "letter-spacing": 4, "font-size": 12, fill: "#333", "aria-hidden": "true" }, svg, "SCREEN");

    seats = [];
    rows = mapRows.map((row, r) => {
      const y = TOP + r * CELL;
      for (const x of [MARGIN / 2, width - MARGIN / 2]) {
        node("text", { x, y: y + CELL / 2 + 4, "text-anchor": "middle", "font-weight": "bold", "font-size": 12, fill: "#333", "aria-hidden": "true" }, svg, row.label);
      }
      return row.seats.map((data) => {
        let status = capped && data.status === "free" ? "blocked" : data.status;
        if (mine.has(data.label)) status = "mine";
        else if (status !== "free") picked.delete(data.label);
        const g = node("g", { class: "seat", role: "checkbox", tabindex: -1, "data-seat": data.label }, svg);
        const left = MARGIN + column.get(data.x) * CELL + (CELL - SIZE) / 2;
        const top = y + (CELL - SIZE) / 2;
        node("rect", { x: left, y: top, width: SIZE, height: SIZE, rx: 4, stroke: "#222" }, g);
        node("text", { x: left + SIZE / 2, y: top + SIZE / 2 + 4, "text-anchor": "middle", "font-size": 10, "pointer-events": "none" }, g);
        const seat = { label: data.label, row: r, col: column.get(data.x), category: data.category, kind: data.kind, status, g };
        g.addEventListener("click", () => toggle(seat));
        g.addEventListener("focus", () => focus(seat, false));
        seats.push(seat);
        paint(seat);
        return seat;
      });
    });
    // What can be sold: the free seats, no more than the show's capacity leaves.
    const free = Math.min(seats.filter((seat) => seat.status === "free").length, available ?? Infinity);
    seatsLeft = free;
    if (picked.size < pickedBefore) fitCounts();
    drawCategoryKey();
    svg.setAttribute("aria-label", `Seat map, the screen at the top, front row first: ${free} of ${seats.length} seats free`);
    svg.addEventListener("keydown", onKey);
    $("map").replaceChildren(svg);
    $("free-count").textContent = `${free} seat${free === 1 ? "" : "s"} free.`;
    if (capped && !hold) say(SENTENCES.none_left);
    if (capped) offerWaitlist();
    const start = (focused && seats.find((seat) => seat.label === focused.label)) || seats.find((s) => s.status === "free") || seats[0];
    if (start) focus(start, false);
  }

  // The categories of this map, each with its outline, when there is more than one or the
  // one is not the first (standard): the prices above name them.
  function drawCategoryKey() {
    const order = Object.keys(OUTLINES);
    const used = [...new Set(seats.map((seat) => seat.category))];
    used.sort((a, b) => (order.indexOf(a) + 1 || Infinity) - (order.indexOf(b) + 1 || Infinity) || a.localeCompare(b));
    const key = $("category-key");
    key.replaceChildren();
    key.hidden = used.length < 2 && used[0] === order[0];
    if (key.hidden) return;
    for (const category of used) {
      const item = document.createElement("li");
      const swatch = node("svg", { width: 16, height: 16, "aria-hidden": "true" }, item);
      const { width, dash } = OUTLINES[category] || PLAIN;
      node("rect", { x: 1, y: 1, width: 14, height: 14, rx: 3, fill: "#fff", stroke: "#222", "stroke-width": width, "stroke-dasharray": dash }, swatch);
      item.append(category);
      key.append(item);
    }
  }

  // A seat's look: its fill and its mark (its status), its outline (its category), so that
  // nothing is told by colour alone.
  function paint(seat) {
    const rect = seat.g.firstChild, mark = seat.g.lastChild;
    const isPicked = seat.status === "mine" || picked.has(seat.label);
    const look = isPicked
      ? { fill: "#0b57d0", text: "#fff", mark: "✓" }
      : {
          free: { fill: "#e4f3e2", text: "#222", mark: null },
          held: { fill: "url(#held-stripes)", text: "#222", mark: null },
          booked: { fill: "#a93226", text: "#fff", mark: "×" },
          blocked: { fill: "#8a8a8a", text: "#fff", mark: "–" },
        }[seat.status];
    const kindMark = { wheelchair: "♿", companion: "C" }[seat.kind];
    const outline = OUTLINES[seat.category] || PLAIN;
    rect.setAttribute("fill", look.fill);
    rect.setAttribute("stroke-dasharray", outline.dash);
    rect.setAttribute("stroke-width", outline.width);
    mark.setAttribute("fill", look.text);
    mark.setAttribute("font-size", look.mark || kindMark ? 13 : 9);
    mark.textContent = look.mark || kindMark || seat.label.replace(/^[A-Z]+/, "");
    seat.g.dataset.status = seat.status;
    seat.g.setAttribute("aria-checked", String(isPicked));
    seat.g.setAttribute("aria-disabled", String(seat.status !== "free" || hold !== null));
    const words = [seat.label, KIND_WORDS[seat.kind] || seat.kind, seat.category, STATUS_WORDS[isPicked ? "mine" : seat.status]];
    seat.g.setAttribute("aria-label", words.join(", "));
  }

  function focus(seat, move) {
    if (focused && focused !== seat) focused.g.setAttribute("tabindex", -1);
    focused = seat;
    seat.g.setAttribute("tabindex", 0);
    if (move) seat.g.focus();
  }

  function onKey(event) {
    if (!focused) return;
    const row = rows[focused.row];
    const index = row.indexOf(focused);
    const nearest = (other) => other.reduce((best, s) => (Math.abs(s.col - focused.col) < Math.abs(best.col - focused.col) ? s : best));
    let next = null;
    switch (event.key) {
      case "ArrowLeft": next = row[index - 1]; break;
      case "ArrowRight": next = row[index + 1]; break;
      case "ArrowUp": next = focused.row > 0 ? nearest(rows[focused.row - 1]) : null; break;
      case "ArrowDown": next = focused.row < rows.length - 1 ? nearest(rows[focused.row + 1]) : null; break;
      case "Home": next = row[0]; break;
      case "End": next = row[row.length - 1]; break;
      case " ":
      case "Enter":
        event.preventDefault();
        toggle(focused);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next) focus(next, true);
  }

  function toggle(seat) {
    focus(seat, false);
    if (hold) {
      say("These seats are held for you: release them to choose others.");
      return;
    }
    if (seat.status !== "free") {
      say(`Seat ${seat.label} is ${STATUS_WORDS[seat.status]}: choose a free seat.`);
      return;
    }
    if (picked.has(seat.label)) picked.delete(seat.label);
    else if (picked.size >= MAX_SEATS) {
      say(`You can pick at most ${MAX_SEATS} seats at once.`);
      return;
    } else picked.add(seat.label);
    say("");
    paint(seat);
    balance();
  }

  // The first ticket type takes the seats the others leave: two seats picked, two adults;
  // then one child typed, one adult.
  function balance() {
    const others = counts.slice(1).reduce((sum, input) => sum + (Number(input.value) || 0), 0);
    counts[0].value = Math.max(picked.size - others, 0);
  }

  // Picked seats the map drew taken meanwhile (a 409 seat_taken's redraw) are unpicked, and
  // their tickets go too: the first type's as balance() has it, then the others', the last
  // first. Else the next hold names fewer seats than tickets, and is refused for a mismatch
  // the customer didn't make.
  function fitCounts() {
    balance();
    let over = counts.reduce((sum, input) => sum + (Number(input.value) || 0), 0) - picked.size;
    for (const input of counts.slice(1).reverse()) {
      if (over <= 0) break;
      const n = Number(input.value) || 0;
      const cut = Math.min(over, n);
      input.value = n - cut;
      over -= cut;
    }
  }

  // --- hold, release, book ----------------------------------------------------------------

  function wanted() {
    const types = {};
    let total = 0;
    for (const input of counts) {
      const n = Number(input.value) || 0;
      total += n;
      if (n && input.dataset.type) types[input.dataset.type] = n;
    }
    return { types, total };
  }

  function randomHex(bytes) {
    // getRandomValues, not randomUUID: the latter needs a secure context (https).
    return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function holdSeats(best) {
    const { types, total } = wanted();
    const request = { show: showId };
    if (best) {
      if (!total) return say(SENTENCES.nothing_chosen);
      if (Object.keys(types).length) request.ticket_types = types;
      else request.quantity = total;
    } else {
      if (!picked.size) return say(SENTENCES.nothing_chosen);
      const order = seats.map((seat) => seat.label);
      request.seats = [...picked].sort((a, b) => order.indexOf(a) - order.indexOf(b));
      if (Object.keys(types).length) request.ticket_types = types;
    }
    say("");
    const asked = JSON.stringify(request);
    if (holdAsked && holdAsked.body !== asked && holdAsked.lost) await releaseLost(holdAsked);
    if (!holdAsked || holdAsked.body !== asked) holdAsked = { body: asked, key: `hold-${randomHex(16)}`, lost: false };
    const answer = await api("POST", "/api/holds", request, { "Idempotency-Key": holdAsked.key });
    if (!answer.ok) {
      // Refused outright, the key made no hold (a retry of one that did is answered with it).
      holdAsked.lost = lost(answer) || (answer.body && answer.body.code === "idempotency_key_in_use");
      if (hasStarted()) return showStarted();
      if (answer.status === 409) await loadMap(true); // the map redrawn first: then the sentence
      const soldOut = answer.body && answer.body.code === "sold_out";
      if (soldOut) offerWaitlist(); // too few seats for the party: it may wait for more
      say(soldOut && seatsLeft === 0 ? SENTENCES.none_left : sentence(answer.status, answer.body, answer.retryAfter));
      return;
    }
    hold = answer.body;
    holdAsked = null;
    picked.clear();
    // The countdown runs on this device's clock from the server's "now" (its Date header).
    const serverNow = Date.parse(answer.date) || Date.now();
    hold.endsAt = Date.now() + (Date.parse(hold.expires_at) - serverNow);
    await loadMap(true); // the held seats drawn as the customer's
    if (hold) showHold(); // else gone with the show's start meanwhile
  }

  // A hold asked for whose answer was lost may have been made, unknown to the page: asked
  // for again with its key (answered with that hold, if made) and released before the page
  // asks for another. Else it keeps its seats, and counts against the customer's cap of
  // held seats, until it runs out.
  async function releaseLost(asked) {
    const again = await api("POST", "/api/holds", JSON.parse(asked.body), { "Idempotency-Key": asked.key });
    if (again.ok) await api("DELETE", `/api/holds/${again.body.id}`);
  }

  // The waiting list's box, which the page draws (hidden) when plenty of seats were free:
  // shown and opened when the show sold out meanwhile, or has fewer seats than the party
  // asked, as the page shows it once reloaded. Else joining took a reload nobody said.
  function offerWaitlist() {
    const box = $("waitlist");
    if (!box) return;
    box.hidden = false;
    box.querySelector("details").open = true;
  }

  function typeName(key) {
    const input = counts.find((each) => each.dataset.type === key);
    return input ? input.dataset.name : key;
  }

  function showHold() {
    const body = $("held-lines");
    body.replaceChildren();
    for (const line of hold.lines) {
      const tr = body.insertRow();
      tr.insertCell().textContent = line.seat;
      tr.insertCell().textContent = `${typeName(line.ticket_type)}, ${line.category}`;
      const price = tr.insertCell();
      price.className = "num";
      price.textContent = `${line.price} ${hold.currency}`;
    }
    $("held-total").textContent = `${hold.total} ${hold.currency}`;
    $("held").hidden = false;
    $("hold-buttons").hidden = true;
    $("person").hidden = false;
    counts.forEach((input) => (input.disabled = true));
    tick();
    ticking = setInterval(tick, 1000);
    $("held").focus();
  }

  function tick() {
    if (!hold) return;
    // Rounded up: 0 once the hold's end has passed, when the service has let its seats go.
    const left = Math.max(0, Math.ceil((hold.endsAt - Date.now()) / 1000));
    $("held-timer").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left === 0 && hasStarted(hold)) showStarted();
    else if (left === 0) {
      ranOut();
      say(SENTENCES.hold_expired);
      loadMap(true).then(refocus);
    }
  }

  // A box that hides takes the focus with it, and a keyboard or screen reader user would
  // start again from the top of the page: after a release or an expiry the focus goes back
  // to the map, where the seats were picked.
  function refocus() {
    const active = document.activeElement;
    const lost = !active || active === document.body || !active.isConnected || Boolean(active.closest && active.closest("[hidden]"));
    if (lost && focused) focused.g.focus();
  }

  // A hold that ran out (or was released elsewhere): its seats are picked again, so the
  // customer's choice, types and all, is one click from held again; the map drawn next
  // unpicks those taken meanwhile, their tickets with them (fitCounts).
  function ranOut() {
    const seatsHeld = hold ? hold.seats : [];
    dropHold();
    seatsHeld.forEach((label) => picked.add(label));
  }

  // A show that starts while its page is open: its holds run out then (the service ends
  // them at its start), and nothing can be held any more. Said as the page says it once
  // reloaded, with nothing left to pick, hold or book (holding again was refused with a
  // bare "Cannot book a show that has started.", the map still drawn free).
  // By the service's clock, or by the hold given (run out, and ended by the service at the
  // show's start). Both are told to the second (a Date header, expires_at): a second early.
  function hasStarted(ended = null) {
    const endedAtStart = ended !== null && ended.endsAt <= Date.now() && Date.parse(ended.expires_at) >= startsAt - 1000;
    return endedAtStart || Date.now() + skew >= startsAt - 1000;
  }

  function showStarted() {
    dropHold();
    picked.clear();
    withoutMap = true; // no map to draw any more
    for (const id of ["seats-heading", "map-area", "tickets", "hold-buttons", "person", "free-count"]) $(id).hidden = true;
    if ($("waitlist")) $("waitlist").hidden = true; // joining a started show is refused too
    say(SENTENCES.started);
    // The button pressed went with its box: the keyboard goes on from the sentence.
    message.setAttribute("tabindex", -1);
    message.focus();
  }

  function dropHold() {
    clearInterval(ticking);
    hold = null;
    $("held").hidden = true;
    $("hold-buttons").hidden = false;
    $("person").hidden = true;
    counts.forEach((input) => (input.disabled = false));
  }

  async function release() {
    if (!hold) return;
    await api("DELETE", `/api/holds/${hold.id}`);
    hold = null;
    await loadMap(true); // the seats drawn free again, then the hold's box goes
    dropHold();
    say("");
    refocus();
  }

  // No answer, or the front's or the service's "may or may not have been carried out"
  // (a timeout, the database gone mid-request): the request may have done its work.
  function lost(answer) {
    return !answer.ok && (!answer.body || answer.body.code === "unavailable");
  }

  async function book(event) {
    event.preventDefault();
    if (!hold) return say("Hold your seats first: pick them on the map, or ask for the best seats.");
    // One key for the hold: when a confirm's answer is lost (the connection dropped) and the
    // customer confirms again, the service answers with the booking the first one made,
    // instead of refusing the spent hold as hold_expired. Only a booking keeps the key: a
    // refused confirm (a mistyped phone number) may be sent again corrected.
    const person = { hold: hold.id, name: form.elements.name.value, phone_number: form.elements.phone_number.value };
    const key = { "Idempotency-Key": `confirm-${hold.id}` };
    let answer = await api("POST", "/api/bookings", person, key);
    if (lost(answer)) {
      confirmsLost.push(person);
    } else if (answer.body && answer.body.code === "idempotency_key_reused") {
      // A confirm whose answer was lost booked, with the details it sent before they were
      // corrected: sent again as it was, it is answered with that booking.
      for (const earlier of confirmsLost.filter((each) => each.hold === hold.id)) {
        const again = await api("POST", "/api/bookings", earlier, key);
        if (again.ok) {
          answer = again;
          break;
        }
      }
    }
    markFields(answer.ok ? null : answer.body);
    if (!answer.ok) {
      if (answer.body && answer.body.code === "hold_expired") {
        if (hasStarted(hold)) return showStarted();
        ranOut();
        await loadMap(true); // the map redrawn first: then the sentence
        refocus();
      }
      say(sentence(answer.status, answer.body, answer.retryAfter));
      return;
    }
    clearInterval(ticking);
    hold = null; // booked: nothing left to release
    showBooking(answer.body);
  }

  function showBooking(booking) {
    const done = $("done");
    const heading = document.createElement("h2");
    heading.textContent = "Booked";
    const text = document.createElement("p");
    const reference = document.createElement("strong");
    reference.className = "ref";
    reference.textContent = booking.reference;
    text.append("Your booking reference is ", reference, `. Total ${booking.total} ${booking.currency}.`);
    const list = document.createElement("ul");
    list.className = "etickets";
    for (const ticket of booking.tickets) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = ticket.url;
      link.textContent = `E-ticket for seat ${ticket.seat}`;
      item.append(link, ` (${typeName(ticket.ticket_type)}, ${ticket.price} ${booking.currency})`);
      list.append(item);
    }
    // The page is gone with a closed tab: the reference finds the booking again.
    const keep = document.createElement("p");
    keep.className = "keep";
    const find = document.createElement("a");
    find.href = page.dataset.findBooking;
    find.textContent = "Find your booking";
    keep.append(`${SENTENCES.keep_reference} `, find);
    done.replaceChildren(heading, text, keep, list);
    form.hidden = true;
    $("free-count").hidden = true;
    done.hidden = false;
    done.setAttribute("tabindex", -1);
    done.focus();
    keepBooking(booking);
  }

  // The booking shown is kept in this page's entry of the browser's history, never in its
  // address: a page that is no-store is loaded afresh on Back (from an e-ticket) where the
  // browser keeps it out of its back-forward cache, and on a reload, and shows it again,
  // for as long as the form's booked page does (data-booked-seconds, its cookie's age).
  function keepBooking(booking) {
    const tickets = booking.tickets.map(({ url, seat, ticket_type, price }) => ({ url, seat, ticket_type, price }));
    const kept = { reference: booking.reference, total: booking.total, currency: booking.currency, tickets };
    history.replaceState({ ...history.state, booked: { show: showId, at: Date.now(), booking: kept } }, "");
  }

  function keptBooking() {
    const kept = history.state && history.state.booked;
    const age = kept ? Date.now() - kept.at : Infinity;
    return kept && kept.show === showId && age >= 0 && age < Number(page.dataset.bookedSeconds) * 1000 ? kept.booking : null;
  }

  // Leaving the page (closed, reloaded, a link followed) lets the hold go: else its seats
  // stay off sale for the rest of the hold, and count against the customer's own cap of
  // held seats when the page is opened again. keepalive: the request outlives the page.
  function releaseOnLeave() {
    if (!hold) return;
    const headers = { "X-CSRFToken": csrf };
    fetch(`/api/holds/${hold.id}`, { method: "DELETE", credentials: "same-origin", headers, keepalive: true }).catch(() => {});
    dropHold();
  }

  // --- start: the map replaces the list of checkboxes ---------------------------------------

  $("seat-list").hidden = true;
  $("seat-list").disabled = true; // its checkboxes are not sent with the form any more
  $("map-area").hidden = false;
  $("hold-buttons").hidden = false;
  $("person").hidden = true;
  const bookLabel = $("book-button").textContent;
  $("book-button").textContent = "Confirm booking";
  // Only seats picked set a party's size: without any, the counts typed are the party that
  // "best seats" asks for, and stay as typed.
  counts.slice(1).forEach((input) => input.addEventListener("input", () => picked.size && balance()));
  $("hold-picked").addEventListener("click", () => holdSeats(false));
  $("hold-best").addEventListener("click", () => holdSeats(true));
  $("release").addEventListener("click", release);
  form.addEventListener("submit", book);
  window.addEventListener("pagehide", releaseOnLeave);
  // Back from the browser's cache of pages: the hold went when the page was left.
  window.addEventListener("pageshow", (event) => event.persisted && loadMap(true));
  const booked = keptBooking();
  if (booked) showBooking(booked);
  else loadMap();
})();
