#!/bin/sh
# macOS: a .dmg of the desk bundle. NOT TESTED: no Mac has built or run this yet.
#   make build                       # on the Mac: dist/prefdesk (a one-folder bundle)
#   sh resources/packaging/macos/build_dmg.sh
# Before a release, on the two newest macOS versions (Apple silicon and Intel): open the .dmg, drag PrefDesk to
# Applications, open it (an unsigned app needs right-click > Open once; signing and notarisation need the team's
# Apple Developer ID: codesign --deep -s ID, xcrun notarytool submit), open a .prefdesk file, run a reward job with
# the training runtime (the prefdesk-train folder beside the app, or `pip install "prefdesk[train]"`; MPS is used
# where torch finds it).
# A real .app (Info.plist with the .prefdesk document type) is the next step: PyInstaller's BUNDLE() in build.spec,
# or Briefcase. This script packs the one-folder bundle as it is.
set -eu
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
staging=$(mktemp -d)
cp -R dist/prefdesk "$staging/PrefDesk"
[ -d dist/prefdesk-train ] && cp -R dist/prefdesk-train "$staging/prefdesk-train"
hdiutil create -volname "PrefDesk $version" -srcfolder "$staging" -ov -format UDZO "dist/PrefDesk-$version.dmg"
rm -rf "$staging"
