/*
TidalSort

Receives sample banks sorted by tidalsort over OSC and swaps them into a running SuperDirt.
Start it after SuperDirt:

	~dirt.start(57120, 0 ! 12);
	TidalSort.start(~dirt, roots: ["/home/me/samples/tidalsort"]);

Options of *start (all but dirt and roots have defaults):
	dirt        a SuperDirt (its soundLibrary is used) or a DirtSoundLibrary itself
	roots       folder (String) or Array of folders; bank folders must lie below one of them
	port        UDP port to listen on, default 57120 (SuperDirt's/sclang's port); another
	            port is opened with thisProcess.openUDPPort
	allow       senders allowed to send: nil = loopback only; or an Array of \loopback,
	            IPv4 address Strings, NetAddrs (replaces the default)
	tidal       Tidal's control address for /ctrl: NetAddr, Array of NetAddr, a port number
	            on 127.0.0.1, or false for none. Default NetAddr("127.0.0.1", 6010)
	graceDelay  seconds before replaced buffers are freed, default 5
	maxFiles    largest accepted file count per bank, default 4096
	verbose     post every accepted and ignored message, default false

tidalsort can also unload a sound whose folder a re-sort removed (/tidalsort/unload): it leaves
the sound library, its /ctrl values in Tidal are cleared and its buffers are freed after
graceDelay.

TidalSort.resend(bank) sends the stored boundaries of one bank (or, without argument, of all
banks) to Tidal again, e.g. after Tidal restarted. TidalSort.stop removes the OSC responders
(loaded banks stay). The classes behind it, one responsibility each: TidalSortReceiver (OSC),
TidalSortAccess (allow-list), TidalSortRequest (message validation), TidalSortPaths (roots and
folders), TidalSortLoader (buffers and the swap), TidalSortCtrl (Tidal's /ctrl).

The OSC protocol (version 2) is documented in TidalSortReceiver and, in full, in tidalsort's
docs/protocol.md; setting TidalSort up with SuperDirt and tidalsort: docs/superdirt.md; when
tidalsort says SuperDirt does not answer: docs/troubleshooting.md.

What TidalSort uses of SuperDirt's DirtSoundLibrary (1.7.x): server, buffers and bufferEvents
(IdentityDictionary name -> Array), synthEvents (to refuse a bank named like a synth),
metaDataEvents (if present: the bank's entry is dropped on reload), fileExtensions and
makeEventForBuffer(buffer, metaData). Nothing else; SuperDirt's addBuffer/freeSoundFiles are
not used because they leak the replaced server buffers.
*/

TidalSort {

	classvar <default;
	classvar <protocolVersion = 2, <version = "2.0.0";

	var <dirt, <soundLibrary, <server, <port;
	var <paths, <access, <loader, <ctrl, <receiver;
	var <>maxFiles = 4096, <>verbose = false, <>postErrors = true;

	*start { |dirt, roots, port = 57120, allow, tidal, graceDelay = 5.0, maxFiles = 4096, verbose = false|
		this.stop;
		default = this.new(dirt, roots, port, allow, tidal, graceDelay, maxFiles, verbose);
		^default
	}

	*stop {
		default !? { default.stop };
		default = nil;
	}

	*resend { |bank|
		if(default.isNil) { "TidalSort is not running".warn; ^0 };
		^default.resend(bank)
	}

	*new { |dirt, roots, port = 57120, allow, tidal, graceDelay = 5.0, maxFiles = 4096, verbose = false|
		^super.new.init(dirt, roots, port, allow, tidal, graceDelay, maxFiles, verbose)
	}

	init { |argDirt, roots, argPort, allow, tidal, graceDelay, argMaxFiles, argVerbose|
		dirt = argDirt;
		soundLibrary = if(dirt.respondsTo(\soundLibrary)) { dirt.soundLibrary } { dirt };
		if(soundLibrary.isNil or: {
			[\buffers, \bufferEvents, \makeEventForBuffer].any { |sel| soundLibrary.respondsTo(sel).not }
		}) {
			TidalSortError("start: give ~dirt (a running SuperDirt) or its DirtSoundLibrary, got %"
				.format(dirt)).throw
		};
		server = if(soundLibrary.respondsTo(\server)) { soundLibrary.server };
		server = server ?? { if(dirt.respondsTo(\server)) { dirt.server } } ?? { Server.default };
		port = argPort.asInteger;
		maxFiles = argMaxFiles.asInteger;
		verbose = argVerbose == true;

		paths = TidalSortPaths(roots, if(soundLibrary.respondsTo(\fileExtensions)) { soundLibrary.fileExtensions });
		access = TidalSortAccess(allow);
		ctrl = TidalSortCtrl(tidal);
		loader = TidalSortLoader(soundLibrary, server).graceDelay_(graceDelay.asFloat);
		if(port != NetAddr.langPort and: { thisProcess.openUDPPort(port).not }) {
			TidalSortError("could not open UDP port % (in use?)".format(port)).throw
		};
		receiver = TidalSortReceiver(this, port);

		"TidalSort % (protocol %) listening on port %; roots: %; senders: %; Tidal /ctrl: %"
		.format(version, protocolVersion, port, paths.roots.join(", "), access.describe,
			if(ctrl.targets.isEmpty) { "off" } { ctrl.targets.collect { |t| "%:%".format(t.ip, t.port) }.join(", ") }
		).postln;
	}

	stop {
		receiver !? { receiver.free };
		receiver = nil;
	}

	resend { |bank|
		^ctrl.resend(bank !? { bank.asSymbol })
	}

	// called by the receiver after a successful swap: boundaries go to Tidal before the reply
	prLoaded { |request, numBuffers|
		ctrl.set(request[\bank], request[\boundariesString], request[\labelsString]);
		if(verbose) {
			"TidalSort: loaded '%' (% files) from %".format(request[\bank], numBuffers, request[\folder]).postln
		} {
			"TidalSort: loaded '%' (% files)".format(request[\bank], numBuffers).postln
		};
	}

	// called by the receiver after an unload: Tidal's values of the sound are cleared
	prUnloaded { |request, numBuffers|
		ctrl.clear(request[\bank]);
		"TidalSort: unloaded '%' (% files, read from %)".format(request[\bank], numBuffers, request[\folder]).postln;
	}
}
