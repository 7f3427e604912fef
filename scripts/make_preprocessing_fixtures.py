#!/usr/bin/env python3
"""Reference outputs for slim's deterministic preprocessing paths.

Written with NumPy from the behaviour TensorFlow documents for the ops slim's
preprocessing calls (legacy resize_bilinear with align_corners=False, tf.slice
crops, central_crop, resize_image_with_crop_or_pad, per_image_standardization),
independently of slimtrain's TypeScript. Writes fixtures/preprocessing/reference.json.

Run: /usr/bin/python3 scripts/make_preprocessing_fixtures.py
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "preprocessing", "reference.json")


def legacy_resize(img, out_h, out_w):
    """Bilinear, source index = dst * in/out, neighbour clamped (TF1 default)."""
    in_h, in_w, _ = img.shape
    ys = np.arange(out_h) * (in_h / out_h)
    xs = np.arange(out_w) * (in_w / out_w)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, in_h - 1)
    x1 = np.minimum(x0 + 1, in_w - 1)
    wy = (ys - y0)[:, None, None]
    wx = (xs - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - wx) + img[y0][:, x1] * wx
    bottom = img[y1][:, x0] * (1 - wx) + img[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def aspect_resize(img, side):
    h, w, _ = img.shape
    scale = side / w if h > w else side / h
    return legacy_resize(img, int(np.rint(h * scale)), int(np.rint(w * scale)))


def center_crop(img, ch, cw):
    h, w, _ = img.shape
    t, l = (h - ch) // 2, (w - cw) // 2
    return img[t:t + ch, l:l + cw]


def central_fraction(img, frac):
    h, w, _ = img.shape
    t = int((h - h * frac) / 2)
    l = int((w - w * frac) / 2)
    return img[t:h - t, l:w - l]


def crop_or_pad(img, th, tw):
    h, w, c = img.shape
    out = np.zeros((th, tw, c))
    ct, cl = max((h - th) // 2, 0), max((w - tw) // 2, 0)
    pt, pl = max((th - h) // 2, 0), max((tw - w) // 2, 0)
    ch, cw = min(h, th), min(w, tw)
    out[pt:pt + ch, pl:pl + cw] = img[ct:ct + ch, cl:cl + cw]
    return out


def standardize(img):
    m = img.mean()
    s = max(img.std(), 1.0 / np.sqrt(img.size))
    return (img - m) / s


def main():
    # A fixed pseudo-random image, quantized to 8 bits as a decoded JPEG would be.
    rng = np.random.RandomState(20261202)
    image = rng.randint(0, 256, size=(23, 31, 3)).astype(np.float64) / 255.0
    means = np.array([123.68, 116.78, 103.94])
    cases = {
        "vgg_eval_40_16x16": center_crop(aspect_resize(image * 255, 40), 16, 16) - means,
        "vgg_eval_20_12x18": center_crop(aspect_resize(image * 255, 20), 12, 18) - means,
        "inception_eval_14x14": (legacy_resize(central_fraction(image, 0.875), 14, 14) - 0.5) * 2,
        "lenet_28x28": (crop_or_pad(image * 255, 28, 28) - 128) / 128,
        "cifarnet_eval_20x36": standardize(crop_or_pad(image * 255, 20, 36)),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({
            "image": {"shape": list(image.shape), "data": image.ravel().tolist()},
            "cases": {k: {"shape": list(v.shape), "data": [round(x, 7) for x in v.ravel().tolist()]} for k, v in cases.items()},
        }, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
