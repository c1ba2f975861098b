/*
STAND-IN FOR TESTS ONLY. NOT PART OF THE TidalSort QUARK.

SuperDirt cannot be installed on the test machines, so the tests compile these two classes
(this folder is on the test's includePaths, it is outside supercollider/TidalSort/ and so is
never compiled when the quark is installed).

TidalSortStandInSoundLibrary has the fields and method signatures of SuperDirt 1.7.3's
DirtSoundLibrary that TidalSort uses, with the same semantics:
	server, buffers, bufferEvents (IdentityDictionary name -> Array), synthEvents,
	metaDataEvents, fileExtensions, doNotReadYet, makeEventForBuffer(buffer, metaData)
	(same event keys as SuperDirt's).
For seeding banks in the tests it also has addBuffer(name, buffer, appendToExisting, metaData),
freeSoundFiles(names) (which, like SuperDirt's, removes entries without freeing the server
buffers), loadSoundFileFolder(folderPath, name, appendToExisting, sortFiles) and
loadSoundFilePaths(filePaths, name, appendToExisting). readSoundFile uses Buffer.read and the
file header instead of SuperDirt's Buffer.readWithInfo extension.

TidalSortStandInDirt stands in for a SuperDirt instance (~dirt): server and soundLibrary.
*/

TidalSortStandInSoundLibrary {

	var <server, <numChannels, <buffers, <bufferEvents, <synthEvents, <metaDataEvents;
	var <>fileExtensions = #["wav", "aif", "aiff", "aifc"];
	var <>verbose = false;
	var <>defaultEvent;
	var <>doNotReadYet = false;

	*new { |server, numChannels = 2|
		^super.newCopyArgs(server, numChannels).init
	}

	init {
		buffers = IdentityDictionary.new;
		bufferEvents = IdentityDictionary.new;
		synthEvents = IdentityDictionary.new;
		metaDataEvents = IdentityDictionary.new;
	}

	addBuffer { |name, buffer, appendToExisting = false, metaData|
		var event;
		if(buffer.isNil) { Error("tried to add Nil to buffer library").throw };
		if(synthEvents[name].notNil) { ^this };
		name = name.asSymbol;
		if(appendToExisting.not and: { buffers[name].notNil }) {
			this.freeSoundFiles(name);
		};
		event = this.makeEventForBuffer(buffer, metaData);
		buffers[name] = buffers[name].add(buffer);
		bufferEvents[name] = bufferEvents[name].add(event);
	}

	addSynth { |name, event|
		name = name.asSymbol;
		if(event.isNil) { event = (instrument: name) };
		synthEvents[name] = synthEvents[name].add(event);
	}

	// like SuperDirt 1.7.3: the entry is removed before findBuffer runs, so nothing is freed
	freeSoundFiles { |names|
		names.asArray.do { |name|
			buffers.removeAt(name).asArray.do { |buf|
				if(this.findBuffer(buf).notNil) { buf.free }
			};
			bufferEvents.removeAt(name);
			metaDataEvents.removeAt(name);
		}
	}

	findBuffer { |buf|
		buffers.keysValuesDo { |key, val|
			var index = val.indexOf(buf);
			if(index.notNil) { ^[key, index] };
		};
		^nil
	}

	at { |name|
		^bufferEvents[name] ?? { synthEvents[name] }
	}

	getEvent { |name, index|
		var allEvents = this.at(name);
		^allEvents !? { allEvents.wrapAt(index.asInteger) }
	}

	loadSoundFileFolder { |folderPath, name, appendToExisting = false, sortFiles = true|
		var files = pathMatch(folderPath.standardizePath +/+ "*");
		if(sortFiles) { files.sort };
		if(files.notEmpty) { this.loadSoundFilePaths(files, name.asSymbol, appendToExisting) };
	}

	loadSoundFilePaths { |filePaths, name, appendToExisting = false|
		filePaths.do { |filepath|
			var buf = this.readSoundFile(filepath);
			if(buf.notNil) {
				this.addBuffer(name, buf, appendToExisting);
				appendToExisting = true;
			}
		}
	}

	readSoundFile { |path|
		var fileExt = (path.splitext[1] ? "").toLower, buf, sf;
		if(fileExtensions.includesEqual(fileExt).not) { ^nil };
		sf = SoundFile.openRead(path);
		if(sf.isNil) { ^nil };
		buf = Buffer.read(server, path);
		// what SuperDirt's Buffer.readWithInfo does: take the header info right away
		buf.numFrames = sf.numFrames;
		buf.numChannels = sf.numChannels;
		buf.sampleRate = sf.sampleRate;
		sf.close;
		^buf
	}

	makeEventForBuffer { |buffer, metaData|
		var baseFreq = 60.midicps;
		var baseFreqToMetaFreqRatio = metaData !? _[\baseFreqToMetaFreqRatio] ? 1.0;
		^(
			buffer: buffer.bufnum,
			bufferObject: buffer,
			notYetRead: doNotReadYet,
			instrument: this.instrumentForBuffer(buffer),
			stretchInstrument: this.stretchInstrumentForBuffer(buffer),
			bufNumFrames: buffer.numFrames,
			bufNumChannels: buffer.numChannels,
			baseFreqToMetaFreqRatio: baseFreqToMetaFreqRatio,
			unitDuration: { buffer.duration * baseFreq / ~freq.value },
			hash: buffer.identityHash,
			note: 0
		)
	}

	instrumentForBuffer { |buffer|
		^format("dirt_sample_%_%", buffer.numChannels, this.numChannels).asSymbol
	}

	stretchInstrumentForBuffer { |buffer|
		^format("dirt_stretchsample_%_%", buffer.numChannels, this.numChannels).asSymbol
	}
}

TidalSortStandInDirt {

	var <server, <soundLibrary;

	*new { |server, numChannels = 2|
		^super.newCopyArgs(server, TidalSortStandInSoundLibrary(server, numChannels))
	}
}
