; Inno Setup script for Windows: the same PyInstaller bundles as Linux, built on Windows.
;   make build   (or: python -m PyInstaller --noconfirm --clean build.spec; PREFDESK_TRAIN_BUNDLE=1 for training)
;   iscc resources\packaging\windows\prefdesk.iss      ->  dist\prefdesk-setup-0.1.0.exe
; NOT TESTED: no Windows machine has built or run this yet. Before a release, on Windows 10 and 11: install, open
; the demo from the Start menu, double-click a .prefdesk file, run a reward job from the Train panel (with the
; prefdesk-train folder installed), uninstall (the project files stay).
#define AppVersion "0.1.0"

[Setup]
AppId=PrefDesk
AppName=PrefDesk
AppVersion={#AppVersion}
DefaultDirName={autopf}\PrefDesk
DefaultGroupName=PrefDesk
OutputDir=..\..\..\dist
OutputBaseFilename=prefdesk-setup-{#AppVersion}
ChangesAssociations=yes
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible

[Components]
Name: "desk"; Description: "The desk"; Types: full compact custom; Flags: fixed
Name: "train"; Description: "Training runtime (CPU PyTorch, ~1.5 GB)"; Types: full

[Files]
; the desk finds the runtime beside its own folder (prefdesk\jobs\runtime.py)
Source: "..\..\..\dist\prefdesk\*"; DestDir: "{app}\prefdesk"; Components: desk; Flags: recursesubdirs
Source: "..\..\..\dist\prefdesk-train\*"; DestDir: "{app}\prefdesk-train"; Components: train; Flags: recursesubdirs skipifsourcedoesntexist

[Icons]
Name: "{group}\PrefDesk"; Filename: "{app}\prefdesk\prefdesk.exe"

[Registry]
Root: HKA; Subkey: "Software\Classes\.prefdesk"; ValueType: string; ValueName: ""; ValueData: "PrefDesk.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\PrefDesk.Project"; ValueType: string; ValueName: ""; ValueData: "PrefDesk project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\PrefDesk.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\prefdesk\prefdesk.exe"" ""%1"""
