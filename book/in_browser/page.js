// The in-browser page (book/8_in_the_browser.md): draw or upload an image, bring it to
// Fashion-MNIST's form as fmnist_helpers does, and classify it with the book's model,
// exported to ONNX, in ONNX Runtime Web (WebAssembly). Everything is served by the site.
(() => {
  "use strict";

  const root = document.getElementById("fm-try");
  if (!root) return;
  const $ = (selector) => root.querySelector(selector);
  const SIZE = 28;
  const CLASS_NAMES = JSON.parse(root.dataset.classNames);
  const status = $("#fm-status");
  const inputCanvas = $("#fm-input");
  const drawing = $("#fm-canvas");
  const pen = drawing.getContext("2d");
  let session = null;

  // One row per class: its name, a bar, and the probability in words (the bar is decoration).
  for (const name of CLASS_NAMES) {
    const row = document.createElement("tr");
    row.innerHTML = '<th scope="row"></th><td><div class="fm-track" aria-hidden="true">' +
      '<div class="fm-bar"></div></div></td><td class="fm-value">–</td>';
    row.querySelector("th").textContent = name;
    $("#fm-probabilities tbody").append(row);
  }

  function say(message, isError = false) {
    status.textContent = message;
    status.classList.toggle("fm-error", isError);
  }

  // --- fmnist_helpers.prepare_photo, step by step, as Pillow computes it -------------

  // Pillow's convert("L"): ITU-R 601-2 luma in 16-bit fixed point; alpha is dropped.
  function grayscale(rgba, width, height) {
    const gray = new Uint8Array(width * height);
    for (let i = 0; i < gray.length; i++) {
      const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
      gray[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }
    return gray;
  }

  // Python's round(): halves go to the even neighbour.
  function pyRound(x) {
    const rounded = Math.round(x);
    return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
  }

  // Pillow's Lanczos filter (libImaging/Resample.c) and its 8-bit fixed-point coefficients.
  const PRECISION_BITS = 32 - 8 - 2;
  function sinc(x) {
    if (x === 0) return 1;
    x *= Math.PI;
    return Math.sin(x) / x;
  }
  function lanczos(x) {
    return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
  }
  function coefficients(inSize, outSize) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = 3 * filterScale;
    const result = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      const weights = new Float64Array(count);
      let total = 0;
      for (let x = 0; x < count; x++) {
        weights[x] = lanczos((x + xmin - center + 0.5) / filterScale);
        total += weights[x];
      }
      const fixed = new Float64Array(count);
      for (let x = 0; x < count; x++) {
        const weight = total !== 0 ? weights[x] / total : weights[x];
        fixed[x] = Math.trunc(weight * (1 << PRECISION_BITS) + (weight < 0 ? -0.5 : 0.5));
      }
      result.push({ xmin, fixed });
    }
    return result;
  }
  function clip8(sum) {
    if (sum >= 2 ** (PRECISION_BITS + 8)) return 255;
    if (sum <= 0) return 0;
    return Math.floor(sum / 2 ** PRECISION_BITS);
  }
  // Image.resize(size, LANCZOS) of an 8-bit image: a horizontal pass, then a vertical one.
  function resize(pixels, width, height, newWidth, newHeight) {
    if (newWidth !== width) {
      const taps = coefficients(width, newWidth);
      const out = new Uint8Array(newWidth * height);
      for (let y = 0; y < height; y++) {
        for (let xx = 0; xx < newWidth; xx++) {
          const { xmin, fixed } = taps[xx];
          let sum = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < fixed.length; x++) sum += pixels[y * width + xmin + x] * fixed[x];
          out[y * newWidth + xx] = clip8(sum);
        }
      }
      pixels = out;
      width = newWidth;
    }
    if (newHeight !== height) {
      const taps = coefficients(height, newHeight);
      const out = new Uint8Array(width * newHeight);
      for (let yy = 0; yy < newHeight; yy++) {
        const { xmin: ymin, fixed } = taps[yy];
        for (let x = 0; x < width; x++) {
          let sum = 1 << (PRECISION_BITS - 1);
          for (let y = 0; y < fixed.length; y++) sum += pixels[(ymin + y) * width + x] * fixed[y];
          out[yy * width + x] = clip8(sum);
        }
      }
      pixels = out;
    }
    return pixels;
  }

  // prepare_photo: (grayscale,) invert, crop to the pixels brighter than the threshold,
  // then ImageOps.pad to 28x28 (longer side 28, Lanczos, centred on black).
  function prepare(gray, width, height, invert, threshold = 40) {
    const image = invert ? gray.map((value) => 255 - value) : gray;
    let left = width, top = height, right = -1, bottom = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (image[y * width + x] > threshold) {
          left = Math.min(left, x); right = Math.max(right, x);
          top = Math.min(top, y); bottom = Math.max(bottom, y);
        }
      }
    }
    if (right < 0) return null;
    const cropWidth = right - left + 1, cropHeight = bottom - top + 1;
    const crop = new Uint8Array(cropWidth * cropHeight);
    for (let y = 0; y < cropHeight; y++) {
      crop.set(image.subarray((top + y) * width + left, (top + y) * width + right + 1), y * cropWidth);
    }
    let newWidth = SIZE, newHeight = SIZE;
    const ratio = cropWidth / cropHeight;
    if (ratio > 1) newHeight = pyRound((cropHeight / cropWidth) * SIZE);
    else if (ratio < 1) newWidth = pyRound((cropWidth / cropHeight) * SIZE);
    const result = new Uint8Array(SIZE * SIZE);
    if (Math.min(newWidth, newHeight) === 0) return result;
    const small = resize(crop, cropWidth, cropHeight, newWidth, newHeight);
    const x0 = pyRound((SIZE - newWidth) * 0.5), y0 = pyRound((SIZE - newHeight) * 0.5);
    for (let y = 0; y < newHeight; y++) {
      result.set(small.subarray(y * newWidth, (y + 1) * newWidth), (y0 + y) * SIZE + x0);
    }
    return result;
  }

  // --- The model -----------------------------------------------------------------------

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  async function loadModel() {
    ort.env.wasm.numThreads = 1; // threads would need cross-origin isolation headers
    ort.env.wasm.wasmPaths = new URL("ort/", new URL(root.dataset.static, document.baseURI)).href;
    const response = await fetch(new URL("model.onnx", new URL(root.dataset.static, document.baseURI)));
    if (!response.ok) throw new Error(`the model file could not be loaded (HTTP ${response.status})`);
    const bytes = await response.arrayBuffer();
    if (window.crypto && crypto.subtle) {
      const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
      if (digest !== root.dataset.modelSha256) {
        throw new Error(`the model file's SHA-256 is ${digest}, expected ${root.dataset.modelSha256}`);
      }
    }
    session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ["wasm"] });
  }

  function showInput(pixels) {
    const context = inputCanvas.getContext("2d");
    const image = context.createImageData(SIZE, SIZE);
    pixels.forEach((value, i) => {
      image.data.set([value, value, value, 255], 4 * i);
    });
    context.putImageData(image, 0, 0);
  }

  function showProbabilities(probabilities) {
    const rows = root.querySelectorAll("#fm-probabilities tbody tr");
    let best = 0;
    probabilities.forEach((probability, i) => {
      if (probability > probabilities[best]) best = i;
      const row = rows[i];
      row.dataset.probability = String(probability);
      row.querySelector(".fm-bar").style.width = `${(100 * probability).toFixed(2)}%`;
      row.querySelector(".fm-value").textContent = `${(100 * probability).toFixed(2)}%`;
    });
    rows.forEach((row, i) => row.classList.toggle("fm-best", i === best));
    const answer = $("#fm-answer");
    answer.dataset.className = CLASS_NAMES[best];
    answer.dataset.probability = String(probabilities[best]);
    answer.textContent = `Most likely: ${CLASS_NAMES[best]}, ${(100 * probabilities[best]).toFixed(2)}%.`;
  }

  // One raw 28x28 image (light on dark, uint8) -> preprocess_images -> the model. Runs go
  // one at a time, in the order asked, so the page always ends showing the latest input.
  let queue = Promise.resolve();
  function classify(pixels, source) {
    const run = queue.then(() => classifyNow(pixels, source));
    queue = run.catch(() => {});
    return run;
  }
  async function classifyNow(pixels, source) {
    showInput(pixels);
    if (!session) {
      say("The model is still loading; it will answer in a moment.");
      await modelReady;
    }
    const input = new ort.Tensor("float32", Float32Array.from(pixels, (value) => value / 255), [1, SIZE, SIZE, 1]);
    const outputs = await session.run({ [session.inputNames[0]]: input });
    showProbabilities(Array.from(outputs[session.outputNames[0]].data));
    say(`Classified ${source}.`);
  }

  // --- Inputs: an uploaded file, an example, the canvas ---------------------------------

  async function classifyFile(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    } catch (error) {
      say(`“${file.name}” is not an image this browser can read. Choose a PNG or JPEG: a 28x28 ` +
          "image (light garment on black) or a photo of one dark garment on a light background.", true);
      return;
    }
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    const gray = grayscale(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
    if (canvas.width === SIZE && canvas.height === SIZE) {
      await classify(gray, `“${file.name}” (28x28, used as it is)`); // like load_image
      return;
    }
    const pixels = prepare(gray, canvas.width, canvas.height, true); // like prepare_photo
    if (!pixels) {
      say(`No object found in “${file.name}”: every pixel is within 40 of white. Use a photo of ` +
          "one dark object on a light background.", true);
      return;
    }
    await classify(pixels, `“${file.name}” (${canvas.width}x${canvas.height}, prepared as a photo)`);
  }

  const upload = $("#fm-upload");
  upload.addEventListener("change", () => {
    if (upload.files.length) classifyFile(upload.files[0]).catch(report);
  });

  root.querySelectorAll("button[data-example]").forEach((button) => {
    button.addEventListener("click", async () => {
      try {
        const url = new URL(button.dataset.example, new URL(root.dataset.static, document.baseURI));
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${url.pathname} could not be loaded (HTTP ${response.status})`);
        const blob = await response.blob();
        await classifyFile(new File([blob], url.pathname.split("/").pop(), { type: blob.type }));
      } catch (error) {
        report(error);
      }
    });
  });

  function clearCanvas() {
    pen.fillStyle = "#000";
    pen.fillRect(0, 0, drawing.width, drawing.height);
    pen.strokeStyle = "#fff";
    pen.lineWidth = drawing.width / 12;
    pen.lineCap = "round";
    pen.lineJoin = "round";
  }

  function classifyDrawing() {
    const { width, height } = drawing;
    const gray = grayscale(pen.getImageData(0, 0, width, height).data, width, height);
    const pixels = prepare(gray, width, height, false); // already light on dark
    if (!pixels) {
      say("The canvas is empty: draw a garment first.");
      return Promise.resolve();
    }
    return classify(pixels, "your drawing");
  }

  let last = null;
  function point(event) {
    const box = drawing.getBoundingClientRect();
    return [(event.clientX - box.left) * (drawing.width / box.width),
            (event.clientY - box.top) * (drawing.height / box.height)];
  }
  function strokeTo([x, y]) {
    pen.beginPath();
    pen.moveTo(...(last || [x, y]));
    pen.lineTo(x, y);
    pen.stroke();
    last = [x, y];
  }
  drawing.addEventListener("pointerdown", (event) => {
    drawing.setPointerCapture(event.pointerId);
    last = null;
    strokeTo(point(event));
    event.preventDefault();
  });
  drawing.addEventListener("pointermove", (event) => {
    if (last) strokeTo(point(event));
  });
  const finish = () => {
    if (!last) return;
    last = null;
    classifyDrawing().catch(report);
  };
  drawing.addEventListener("pointerup", finish);
  drawing.addEventListener("pointercancel", finish);

  // The keyboard draws too: arrows move a pen that leaves a stroke; Shift+arrows move it
  // without drawing. A cross shows where it is (on a copy, so the drawing stays clean).
  let cursor = [drawing.width / 2, drawing.height / 2];
  const STEP = drawing.width / 28;
  const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  drawing.addEventListener("keydown", (event) => {
    const move = MOVES[event.key];
    if (!move) return;
    event.preventDefault();
    const next = [Math.min(Math.max(cursor[0] + move[0] * STEP, 0), drawing.width),
                  Math.min(Math.max(cursor[1] + move[1] * STEP, 0), drawing.height)];
    if (!event.shiftKey) {
      last = cursor;
      strokeTo(next);
      last = null;
    }
    cursor = next;
    $("#fm-pen").textContent = `Pen at column ${Math.round(cursor[0] / STEP)}, row ${Math.round(cursor[1] / STEP)} of 28.`;
  });
  drawing.addEventListener("keyup", (event) => {
    if (MOVES[event.key] && !event.shiftKey) classifyDrawing().catch(report);
  });

  $("#fm-clear").addEventListener("click", () => {
    clearCanvas();
    cursor = [drawing.width / 2, drawing.height / 2];
    say("Canvas cleared.");
  });

  function report(error) {
    say(`Something went wrong: ${error && error.message ? error.message : error}`, true);
  }

  clearCanvas();
  say("Loading the model…");
  const modelReady = loadModel().then(
    () => {
      root.dataset.ready = "true";
      say("The model is ready: draw, upload an image, or try an example.");
    },
    (error) => {
      root.dataset.ready = "error";
      report(error);
      throw error;
    },
  );
  modelReady.catch(() => {}); // reported in the page already
})();
