// Reading a QR code on the offline phone pages (the gate's checkpoint, the delivery hand-over): from the
// camera's frames or from a photo, decoded with jsQR (window.jsQR, loaded by the page). The page's
// element ids: camera (the panel), camera-video, camera-hint.

const canvas = document.createElement("canvas");
const context2d = canvas.getContext("2d", { willReadFrequently: true });
const $ = (id) => document.getElementById(id);

let stream = null;
let scanTimer = null;

function decodeFrom(source, width, height, attempts) {
  const scale = Math.min(1, 1024 / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  context2d.drawImage(source, 0, 0, canvas.width, canvas.height);
  const image = context2d.getImageData(0, 0, canvas.width, canvas.height);
  const code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: attempts });
  return code && code.data ? code.data : null;
}

export function stopCamera() {
  clearTimeout(scanTimer);
  scanTimer = null;
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $("camera-video").srcObject = null;
  $("camera").hidden = true;
}

/** Open the back camera and poll its frames; ``onText`` gets the first QR text read (the camera is
 * stopped by then). False when the camera could not be opened. */
export async function startCamera({ hint, onText }) {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    return false;
  }
  const video = $("camera-video");
  video.srcObject = stream;
  $("camera").hidden = false;
  $("camera-hint").textContent = hint;
  try {
    await video.play();
  } catch (err) {
    // autoplay refusals still deliver frames once the user has tapped; keep polling
  }
  const tick = () => {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth) {
      const text = decodeFrom(video, video.videoWidth, video.videoHeight, "dontInvert");
      if (text) {
        stopCamera();
        onText(text);
        return;
      }
    }
    scanTimer = setTimeout(tick, 120);
  };
  tick();
  return true;
}

/** The QR text in a photo (a File), or null. */
export async function decodePhoto(file) {
  const url = URL.createObjectURL(file);
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    return decodeFrom(image, image.naturalWidth, image.naturalHeight, "attemptBoth");
  } finally {
    URL.revokeObjectURL(url);
  }
}
