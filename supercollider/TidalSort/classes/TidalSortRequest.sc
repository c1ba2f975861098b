/*
TidalSortRequest

Parses and validates one `/tidalsort/bank` message (protocol version 2; unchanged since 1):

	/tidalsort/bank  bank  folder  count  boundaries  [labels]
	                 s     s       i      s           s

- bank: matches ^[a-z0-9][a-z0-9_-]*$, at most 64 characters, and is not the name of a
  synth event in the sound library.
- folder: see TidalSortPaths (absolute, below a root, no "..", no escaping symlinks).
- count: an int32 between 1 and maxFiles, equal to the number of audio files in the folder.
- boundaries: space-separated decimal ints, cluster starts plus the final stop:
  first is 0, strictly increasing, last equals count ("0 12 30 55").
- labels (optional): one label per cluster, space-separated, each [A-Za-z0-9_.-]+ and at
  most 64 characters ("kick snare c2").
- boundaries and labels are each at most TidalSortCtrl.maxValueSize characters (what can
  reach Tidal's control input in parts; a datagram that carries them is smaller anyway).

*fromMessage returns an Event (bank, folder, count, boundaries, boundariesString, labels,
labelsString, files) or throws TidalSortError. It reads only file headers; no server state
and no sound library state is changed.
*/

TidalSortRequest {

	classvar <maxNameSize = 64;

	*fromMessage { |msg, paths, soundLibrary, maxFiles = 4096|
		var args = msg.drop(1);
		var bank, folder, count, boundaries, labels, realFolder, files;

		if(args.size < 4 or: { args.size > 5 }) {
			TidalSortError("expected 4 or 5 arguments (bank, folder, count, boundaries[, labels]), got %"
				.format(args.size)).throw
		};

		bank = this.stringArg(args[0], "bank");
		if(this.isBankName(bank).not) {
			TidalSortError("invalid bank name (must match ^[a-z0-9][a-z0-9_-]*$, at most % characters)"
				.format(maxNameSize)).throw
		};
		folder = this.stringArg(args[1], "folder");
		count = args[2];
		if(count.isKindOf(Integer).not) {
			TidalSortError("count must be an int32, got %".format(this.describeArg(count))).throw
		};
		if(count < 1 or: { count > maxFiles }) {
			TidalSortError("count % is out of range (1 to %)".format(count, maxFiles)).throw
		};
		boundaries = this.parseBoundaries(this.stringArg(args[3], "boundaries"), count);
		if(args.size == 5) {
			labels = this.parseLabels(this.stringArg(args[4], "labels"), boundaries.size - 1);
		};

		if(soundLibrary.synthEvents.notNil and: { soundLibrary.synthEvents[bank.asSymbol].notNil }) {
			TidalSortError("a synth named '%' exists in the sound library".format(bank)).throw
		};

		realFolder = paths.resolveFolder(folder);
		files = paths.listAudioFiles(realFolder, maxFiles);
		if(files.size != count) {
			TidalSortError("count is % but the folder holds % audio files".format(count, files.size)).throw
		};

		^(
			bank: bank.asSymbol,
			folder: realFolder,
			count: count,
			boundaries: boundaries,
			boundariesString: boundaries.collect(_.asString).join(" "),
			labels: labels,
			labelsString: labels !? { labels.join(" ") },
			files: files
		)
	}

	*stringArg { |value, what|
		if(value.isKindOf(Symbol)) { ^value.asString };
		if(value.isString) { ^value };
		TidalSortError("% must be a string, got %".format(what, this.describeArg(value))).throw
	}

	*describeArg { |value|
		^case
			{ value.isKindOf(Integer) } { "an int" }
			{ value.isKindOf(Float) } { "a float" }
			{ value.isKindOf(Symbol) or: { value.isString } } { "a string" }
			{ value.isKindOf(RawArray) } { "a blob" }
			{ value.isNil } { "nil" }
			{ value.class.name.asString }
	}

	*isBankName { |string|
		if(string.isString.not or: { string.isEmpty } or: { string.size > maxNameSize }) { ^false };
		string.do { |char, i|
			var c = char.ascii;
			var ok = (c >= 97 and: { c <= 122 }) or: { c >= 48 and: { c <= 57 } };
			if(i > 0) { ok = ok or: { c == 95 } or: { c == 45 } }; // _ -
			if(ok.not) { ^false }
		};
		^true
	}

	*isLabel { |string|
		if(string.isEmpty or: { string.size > maxNameSize }) { ^false };
		string.do { |char|
			var c = char.ascii;
			var ok = (c >= 97 and: { c <= 122 }) or: { c >= 65 and: { c <= 90 } }
				or: { c >= 48 and: { c <= 57 } } or: { c == 95 } or: { c == 45 } or: { c == 46 }; // _ - .
			if(ok.not) { ^false }
		};
		^true
	}

	// "0 12 30 55" -> [0, 12, 30, 55]; throws unless it starts at 0, increases and ends at count
	*parseBoundaries { |string, count|
		var tokens, values;
		if(string.size > (12 * (count + 2))) { TidalSortError("boundaries string is too long").throw };
		this.checkFitsTidal(string, "boundaries");
		tokens = this.tokens(string);
		if(tokens.size < 2) {
			TidalSortError("boundaries need at least two ints (0 and the count), got %".format(string.cs)).throw
		};
		values = tokens.collect { |token|
			if(token.size > 9 or: { token.every(_.isDecDigit).not }) {
				TidalSortError("boundaries must be non-negative ints separated by spaces, got %"
					.format(string.cs)).throw
			};
			token.asInteger
		};
		if(values.first != 0) { TidalSortError("boundaries must start at 0").throw };
		if(values.last != count) {
			TidalSortError("boundaries must end at the count % (got %)".format(count, values.last)).throw
		};
		values.doAdjacentPairs { |a, b|
			if(b <= a) { TidalSortError("boundaries must be strictly increasing").throw }
		};
		^values
	}

	*parseLabels { |string, numClusters|
		var tokens;
		if(string.size > ((maxNameSize + 1) * numClusters + 1)) { TidalSortError("labels string is too long").throw };
		this.checkFitsTidal(string, "labels");
		tokens = this.tokens(string);
		if(tokens.size != numClusters) {
			TidalSortError("labels: expected % (one per cluster), got %".format(numClusters, tokens.size)).throw
		};
		tokens.do { |token|
			if(this.isLabel(token).not) {
				TidalSortError("invalid label (allowed: letters, digits, _ - ., at most % characters)"
					.format(maxNameSize)).throw
			}
		};
		^tokens
	}

	*checkFitsTidal { |string, what|
		if(string.size > TidalSortCtrl.maxValueSize) {
			TidalSortError("% are too long for Tidal's control input (% characters, at most %)"
				.format(what, string.size, TidalSortCtrl.maxValueSize)).throw
		}
	}

	*tokens { |string|
		^string.split($ ).reject(_.isEmpty)
	}
}
