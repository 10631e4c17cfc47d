#!/usr/bin/env python3
"""Makes one picture folder per installed Debian package: OUT/<package>/<picture>.<ext>, symlinks to the
package's raster wallpapers, one file per picture (the largest of its resolutions and light/dark variants), so
that `photo_dirs` can name packages and a whole package can be held out (trainer/README.md, "Photo data").

    scripts/photo-sources.py OUT PACKAGE...
"""
import os, re, subprocess, sys

RASTER = re.compile(r"\.(jpe?g|png|webp)$", re.I)
# Not wallpapers: previews, icons, logos, boot-splash pieces.
SKIP = re.compile(r"screenshot|preview|/icons/|logo|/plymouth/|/pixmaps/|emblem", re.I)
SIZE = re.compile(r"(\d+)x(\d+)")


def picture(path):
    """Picture name of a file: KDE-style Name/contents/images*/WxH.ext -> Name; theme/grub/grub-WxH -> theme;
    else the file name without extension and its _WxH / _Portrait / -dark suffixes."""
    parts = path.split("/")
    if "contents" in parts:
        return parts[parts.index("contents") - 1]
    if len(parts) > 2 and parts[-2] == "grub":
        return parts[-3].replace("-theme", "")
    stem = os.path.splitext(parts[-1])[0]
    return re.sub(r"([_-](\d+x\d+|Portrait|dark|light))+$", "", stem, flags=re.I)


def pixels(path):
    m = SIZE.findall(os.path.basename(path))
    return int(m[-1][0]) * int(m[-1][1]) if m else os.path.getsize(path)


def main(out, packages):
    for pkg in packages:
        files = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True).stdout.split()
        best = {}
        for f in files:
            if RASTER.search(f) and not SKIP.search(f) and os.path.isfile(f) and "images_dark" not in f:
                k = picture(f)
                if k not in best or pixels(f) > pixels(best[k]):
                    best[k] = f
        d = os.path.join(out, pkg)
        os.makedirs(d, exist_ok=True)
        for k, f in sorted(best.items()):
            link = os.path.join(d, k + os.path.splitext(f)[1].lower())
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(f, link)
        print(f"{pkg}: {len(best)} pictures in {d}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
