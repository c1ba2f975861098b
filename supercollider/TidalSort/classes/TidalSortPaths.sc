/*
TidalSortPaths

Everything about the file system: the allowed sample roots, resolving a bank folder, and
listing its audio files in byte order.

Rules (each violation throws a TidalSortError, nothing is read):
- roots are resolved with File.realpath when TidalSort starts; they must be existing folders.
- a bank folder must be an absolute path without a ".." component; after resolving
  symlinks (File.realpath) it must be an existing folder strictly below one of the roots.
  A symlink that leads out of the roots is rejected.
- the folder is listed like SuperDirt does (glob "*": dot-files are skipped, sub-folders are
  ignored); audio files are those whose extension is in fileExtensions (case-insensitive,
  the sound library's list: wav, aif, aiff, aifc). Files with an extension in
  sidecarExtensions (json, txt, md, csv, yaml, yml, toml) are ignored. Any other file is
  rejected as "non-audio file".
- every audio file must itself resolve (symlinks followed) to a regular file below a root,
  must open as a sound file (SoundFile.openRead), have at least one frame and 1 or 2
  channels (SuperDirt has no synth for more).
- files are ordered by plain unsigned byte comparison of their names, which is the order
  tidalsort writes (000_x.wav, 001_y.wav, ...) and the order SuperDirt uses.

For unloading, a sound's folder is compared as a folder key (its parent folder resolved with
File.realpath, then its name), which works for folders that no longer exist; see readFrom.
*/

TidalSortPaths {

	var <roots;
	var <>fileExtensions;
	var <>sidecarExtensions;

	*new { |roots, fileExtensions|
		^super.new.init(roots, fileExtensions)
	}

	init { |argRoots, argFileExtensions|
		var list;
		list = case
			{ argRoots.isNil } { [] }
			{ argRoots.isString or: { argRoots.isKindOf(Symbol) } } { [argRoots] }
			{ argRoots.asArray };
		if(list.isEmpty) {
			TidalSortError("roots: give at least one folder that bank folders may live in").throw
		};
		roots = list.collect { |root| this.prResolveRoot(root) };
		fileExtensions = (argFileExtensions ? #["wav", "aif", "aiff", "aifc"]).collect { |x| x.asString.toLower };
		sidecarExtensions = ["json", "txt", "md", "csv", "yaml", "yml", "toml"];
	}

	// true if the resolved path lies strictly below one of the roots
	isBelowRoot { |realPath|
		^roots.any { |root| realPath.size > root.size and: { realPath.beginsWith(root.withTrailingSlash) } }
	}

	// returns the resolved folder path or throws
	resolveFolder { |folder|
		var real;
		if(folder.isEmpty) { TidalSortError("folder is empty").throw };
		this.checkFolderArg(folder);
		real = File.realpath(folder);
		if(real.isNil) { TidalSortError("folder not found: %".format(folder)).throw };
		real = real.withoutTrailingSlash;
		if(File.type(real) != \directory) { TidalSortError("not a folder: %".format(folder)).throw };
		if(this.isBelowRoot(real).not) {
			TidalSortError("folder is outside the allowed roots: %".format(folder)).throw
		};
		^real
	}

	// an absolute folder path (no "..") for sounds to be looked up or unloaded, or throws
	checkFolderArg { |folder|
		if(folder.isEmpty or: { folder[0] != $/ }) { TidalSortError("folder must be an absolute path: %".format(folder)).throw };
		if(folder.size > 4096) { TidalSortError("folder path is too long").throw };
		if(folder.split($/).any { |part| part == ".." }) {
			TidalSortError("folder must not contain '..': %".format(folder)).throw
		};
		^folder
	}

	// true if every buffer was read from a file directly in folder, and folder lies below a root
	readFrom { |buffers, folder|
		var key = this.class.folderKey(folder);
		^this.isBelowRoot(key) and: {
			buffers.asArray.every { |buf|
				buf.notNil and: { buf.path.notNil } and: { this.class.folderKey(buf.path.asString.dirname) == key }
			}
		}
	}

	// a folder as a comparable string: its parent resolved with File.realpath, then its name
	*folderKey { |folder|
		var path = folder.asString.withoutTrailingSlash, parent = path.dirname;
		^(File.realpath(parent) ? parent).withoutTrailingSlash ++ "/" ++ path.basename
	}

	// returns an Array of Events (path, name, numFrames, numChannels, sampleRate) in byte order
	listAudioFiles { |realFolder, maxFiles = 4096|
		var entries, audio = Array.new, files;
		entries = (this.class.globEscape(realFolder) +/+ "*").pathMatch;
		entries.do { |entry|
			var name, ext;
			if(entry.last != $/) { // entries ending in a slash are sub-folders: ignored, like SuperDirt
				name = entry.basename;
				ext = name.splitext[1];
				ext = if(ext.isNil) { "" } { ext.toLower };
				case
					{ fileExtensions.includesEqual(ext) } {
						audio = audio.add(entry);
						if(audio.size > maxFiles) {
							TidalSortError("folder holds more than % audio files".format(maxFiles)).throw
						}
					}
					{ sidecarExtensions.includesEqual(ext) } { }
					{ TidalSortError("non-audio file in bank folder: %".format(name)).throw };
			}
		};
		audio = audio.sort { |a, b| this.class.byteLessOrEqual(a.basename, b.basename) };
		files = audio.collect { |path| this.prReadHeader(path) };
		^files
	}

	prReadHeader { |path|
		var real, sf, info, name = path.basename;
		real = File.realpath(path);
		if(real.isNil) { TidalSortError("cannot resolve file: %".format(name)).throw };
		if(this.isBelowRoot(real).not) {
			TidalSortError("file leads outside the allowed roots: %".format(name)).throw
		};
		if(File.type(real) != \regular) { TidalSortError("not a regular file: %".format(name)).throw };
		sf = SoundFile.openRead(path);
		if(sf.isNil) { TidalSortError("not a readable audio file: %".format(name)).throw };
		info = (
			path: path,
			name: name,
			numFrames: sf.numFrames,
			numChannels: sf.numChannels,
			sampleRate: sf.sampleRate
		);
		sf.close;
		if(info[\numFrames] < 1) { TidalSortError("empty audio file: %".format(name)).throw };
		if(info[\numChannels] < 1 or: { info[\numChannels] > 2 }) {
			TidalSortError("% has % channels (SuperDirt plays 1 or 2)".format(name, info[\numChannels])).throw
		};
		^info
	}

	prResolveRoot { |root|
		var real;
		root = root.asString;
		if(root.isEmpty or: { root[0] != $/ }) {
			TidalSortError("roots: not an absolute path: %".format(root.cs)).throw
		};
		real = File.realpath(root);
		if(real.isNil or: { File.type(real) != \directory }) {
			TidalSortError("roots: not an existing folder: %".format(root)).throw
		};
		^real.withoutTrailingSlash
	}

	// escape glob metacharacters so that a folder name like "kit [old]" lists correctly
	*globEscape { |path|
		var out = String.new;
		path.do { |char|
			if("\\*?[]{}".includes(char)) { out = out.add($\\) };
			out = out.add(char);
		};
		^out
	}

	// unsigned byte order, the order of Python's sorted() on bytes and of SuperDirt's sort
	*byteLessOrEqual { |a, b|
		var n = min(a.size, b.size);
		n.do { |i|
			var x = a[i].ascii bitAnd: 255, y = b[i].ascii bitAnd: 255;
			if(x != y) { ^x < y }
		};
		^a.size <= b.size
	}
}
