/*
TidalSortReceiver

The OSC side (protocol version 2). One responsibility: messages in, replies out.
Registers permanent OSCFuncs (they survive Cmd-Period) on one UDP port:

	/tidalsort/bank    bank folder count boundaries [labels]  -> /tidalsort/loaded bank count
	                                                          or /tidalsort/error  bank reason
	/tidalsort/sounds  root prefix                            -> /tidalsort/sounds root total name...
	                                                          or /tidalsort/error  "" reason
	/tidalsort/unload  sound folder                           -> /tidalsort/unloaded sound count
	                                                          or /tidalsort/error  sound reason
	/tidalsort/ping    (any arguments are ignored)            -> /tidalsort/pong   2
	/tidalsort/resend  [bank]                                 -> /tidalsort/resent n
	                                                          or /tidalsort/error  bank reason

/tidalsort/sounds lists the sounds whose names start with prefix and whose files were all read
from root/<name> (by TidalSort or by SuperDirt's own loading), below the roots; a long answer
comes in several messages of at most namesPerReply names, each with the total count.
/tidalsort/unload removes such a sound from the sound library (queued after pending loads),
frees its buffers after the grace delay and sends "" to Tidal under its /ctrl keys; the sound's
files must all have been read from folder.

Replies go to the sender's address and port (sclang sends them from its language port).
Messages from senders the TidalSortAccess does not allow are dropped without a reply.
A malformed message gets /tidalsort/error and changes nothing. Every handler is wrapped so
that no input can leave an error behind in the interpreter.

The whole protocol, with every argument rule: docs/protocol.md in tidalsort.
*/

TidalSortReceiver {

	classvar <namesPerReply = 200;

	var <tidalSort, <port, <oscFuncs;

	*new { |tidalSort, port|
		^super.newCopyArgs(tidalSort, port).init
	}

	init {
		oscFuncs = [
			OSCFunc({ |msg, time, addr| this.prGuard(addr, { this.prBank(msg, addr) }) },
				'/tidalsort/bank', recvPort: port).fix,
			OSCFunc({ |msg, time, addr| this.prGuard(addr, { this.prPing(msg, addr) }) },
				'/tidalsort/ping', recvPort: port).fix,
			OSCFunc({ |msg, time, addr| this.prGuard(addr, { this.prResend(msg, addr) }) },
				'/tidalsort/resend', recvPort: port).fix,
			OSCFunc({ |msg, time, addr| this.prGuard(addr, { this.prSounds(msg, addr) }) },
				'/tidalsort/sounds', recvPort: port).fix,
			OSCFunc({ |msg, time, addr| this.prGuard(addr, { this.prUnload(msg, addr) }) },
				'/tidalsort/unload', recvPort: port).fix
		];
	}

	free {
		oscFuncs.do(_.free);
		oscFuncs = [];
	}

	reply { |addr ... args|
		try { addr.sendMsg(*args) } { |err| "TidalSort: could not reply to %: %".format(addr, err.errorString).postln }
	}

	replyError { |addr, name, reason|
		if(tidalSort.verbose or: { tidalSort.postErrors }) {
			"TidalSort: rejected '%' from %: %".format(name, addr.ip, reason).postln
		};
		this.reply(addr, '/tidalsort/error', name, reason);
	}

	// the bank name to echo in an error reply: the first argument if it is a short string
	*echoName { |msg|
		var name = msg[1];
		if(name.isKindOf(Symbol)) { name = name.asString };
		^if(name.isString and: { name.size <= 128 }) { name } { "" }
	}

	prGuard { |addr, func|
		if(tidalSort.access.allows(addr).not) {
			if(tidalSort.verbose) { "TidalSort: ignored a message from %".format(addr).postln };
			^this
		};
		try(func) { |err|
			"TidalSort: internal error: %".format(err.errorString).postln;
		}
	}

	prBank { |msg, addr|
		var request, name = this.class.echoName(msg);
		var error = try {
			request = TidalSortRequest.fromMessage(msg, tidalSort.paths, tidalSort.soundLibrary, tidalSort.maxFiles);
			tidalSort.loader.enqueue(request,
				{ |req, num| tidalSort.prLoaded(req, num); this.reply(addr, '/tidalsort/loaded', req[\bank].asString, num) },
				{ |req, reason| this.replyError(addr, req[\bank].asString, reason) }
			);
			nil
		} { |err|
			if(err.isKindOf(TidalSortError)) { err.what } { "internal error: " ++ err.errorString }
		};
		if(error.notNil) { this.replyError(addr, name, error) };
	}

	// the arguments of a message that must be exactly count strings, or throws
	*stringArgs { |msg, names|
		if(msg.size != (names.size + 1)) {
			TidalSortError("expected % arguments (%), got %".format(names.size, names.join(", "), msg.size - 1)).throw
		};
		^names.collect { |name, i| TidalSortRequest.stringArg(msg[i + 1], name) }
	}

	prSounds { |msg, addr|
		var root, prefix, lib = tidalSort.soundLibrary, names, paths = tidalSort.paths;
		var error = try {
			#root, prefix = this.class.stringArgs(msg, ["root", "prefix"]);
			paths.checkFolderArg(root);
			names = lib.buffers.keys.asArray.collect(_.asString).select { |name|
				(prefix.isEmpty or: { name.beginsWith(prefix) }) and: { paths.readFrom(lib.buffers[name.asSymbol], root.withoutTrailingSlash ++ "/" ++ name) }
			}.sort;
			nil
		} { |err|
			if(err.isKindOf(TidalSortError)) { err.what } { "internal error: " ++ err.errorString }
		};
		if(error.notNil) { ^this.replyError(addr, "", error) };
		if(names.isEmpty) { ^this.reply(addr, '/tidalsort/sounds', root, 0) };
		names.clump(namesPerReply).do { |chunk| this.reply(addr, '/tidalsort/sounds', root, names.size, *chunk) };
	}

	prUnload { |msg, addr|
		var sound, folder, paths = tidalSort.paths;
		var error = try {
			#sound, folder = this.class.stringArgs(msg, ["sound", "folder"]);
			if(TidalSortRequest.isBankName(sound).not) { TidalSortError("invalid sound name").throw };
			paths.checkFolderArg(folder);
			tidalSort.loader.enqueueUnload(
				(bank: sound.asSymbol, folder: folder, check: { |buffers|
					if(paths.readFrom(buffers, folder).not) {
						"'%' was not loaded from % (or that folder is outside the allowed roots)".format(sound, folder)
					}
				}),
				{ |req, num| tidalSort.prUnloaded(req, num); this.reply(addr, '/tidalsort/unloaded', sound, num) },
				{ |req, reason| this.replyError(addr, sound, reason) }
			);
			nil
		} { |err|
			if(err.isKindOf(TidalSortError)) { err.what } { "internal error: " ++ err.errorString }
		};
		if(error.notNil) { this.replyError(addr, this.class.echoName(msg), error) };
	}

	prPing { |msg, addr|
		this.reply(addr, '/tidalsort/pong', TidalSort.protocolVersion);
	}

	prResend { |msg, addr|
		var name, n;
		if(msg.size > 2) { ^this.replyError(addr, this.class.echoName(msg), "expected 0 or 1 arguments ([bank])") };
		if(msg.size == 1) {
			n = tidalSort.ctrl.resend(nil);
			^this.reply(addr, '/tidalsort/resent', n)
		};
		name = msg[1];
		if(name.isKindOf(Symbol).not and: { name.isString.not }) {
			^this.replyError(addr, "", "bank must be a string")
		};
		name = name.asString;
		if(TidalSortRequest.isBankName(name).not) { ^this.replyError(addr, this.class.echoName(msg), "invalid bank name") };
		n = tidalSort.ctrl.resend(name.asSymbol);
		if(n == 0) { ^this.replyError(addr, name, "no boundaries stored for this bank") };
		this.reply(addr, '/tidalsort/resent', n);
	}
}
