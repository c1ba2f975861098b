/*
TidalSortLoader

Reads a validated request (see TidalSortRequest) into new server buffers and swaps them into
the sound library, or unloads a sound. One responsibility: buffers and the library's bank
entries.

Loads and unloads run one at a time, in the order they came, from a queue (at most maxQueue
waiting). For each load:

1. one /b_allocRead per file, in the request's (byte) order; the server then answers a
   /b_query (sent as completion message of the last read of every 256) whose answer must
   show each file's frame and channel count (a failed read shows 0 frames). A missing answer
   (slow disk, failed read, a UDP packet lost in a burst of /done replies) is handled with
   /sync and a repeated /b_query (both idempotent) until loadTimeout seconds have passed, so
   a dead server cannot block the queue. Files the server shows other than expected are
   read again (maxRereads times): a read lost in a burst shows 0 frames too. If anything
   fails, the new buffers are freed and the library is left as it was;
2. the swap happens in one step, with no wait in between, so Tidal never sees a half-loaded
   bank: soundLibrary.buffers[bank] and soundLibrary.bufferEvents[bank] (events made by
   soundLibrary.makeEventForBuffer) are replaced, metaDataEvents[bank] is dropped;
3. after graceDelay seconds the replaced buffers are freed (notes already scheduled with
   Tidal's latency still find them), except those still listed under any bank (aliases).

An unload (enqueueUnload) removes a sound's buffers[bank], bufferEvents[bank] and
metaDataEvents[bank] in one step, after a last check of the sound (e.g. that its files came
from the expected folder), and frees its buffers after graceDelay seconds like replaced ones.

Cmd-Period (which clears SystemClock) abandons the load in progress (its buffers are freed,
its sender gets "interrupted by Cmd-Period"), keeps the queue going and schedules the pending
frees again; see cmdPeriod.

SuperDirt's own reload path (addBuffer/freeSoundFiles) removes the old buffers from the
library without freeing them; this loader frees them, so repeated reloads keep the server's
buffer count constant.
*/

TidalSortLoader {

	var <soundLibrary, <server;
	var <>graceDelay = 5.0, <>loadTimeout = 60.0, <>maxQueue = 32, <>queryChunk = 256, <>retryInterval = 0.5, <>maxRereads = 3;
	var <queue, <busy = false, <pendingFree = 0, <generation = 0, current, pendingOld;

	*new { |soundLibrary, server|
		^super.newCopyArgs(soundLibrary, server).init
	}

	init {
		queue = List.new;
		pendingOld = List.new;
		CmdPeriod.add(this);
	}

	// Cmd-Period clears SystemClock, which would strand the running load (its buffers, the
	// queue) and the scheduled frees. The load in progress is abandoned: its new buffers are
	// freed and its sender gets an error; the queue goes on; frees are scheduled again.
	cmdPeriod {
		var job = current;
		generation = generation + 1;
		current = nil;
		busy = false;
		if(job.notNil) {
			job[\buffers].do { |buf| buf.free };
			try { job[\onError].value(job[\request], "interrupted by Cmd-Period") };
		};
		pendingOld.copy.do { |entry| this.prScheduleFree(entry) };
		if(queue.notEmpty) { this.prRun };
	}

	queueSize { ^queue.size }

	// onDone.(request, numBuffers) or onError.(request, reasonString) is called later
	enqueue { |request, onDone, onError|
		this.prEnqueue(\prLoad, request, onDone, onError)
	}

	// request: (bank: name, check: { |buffers| nil or a reason not to unload });
	// onDone.(request, numBuffers) or onError.(request, reasonString) is called later
	enqueueUnload { |request, onDone, onError|
		this.prEnqueue(\prUnload, request, onDone, onError)
	}

	prEnqueue { |selector, request, onDone, onError|
		if(queue.size >= maxQueue) {
			TidalSortError("busy: % loads are waiting".format(queue.size)).throw
		};
		if(server.serverRunning.not) {
			TidalSortError("the server % is not running".format(server.name)).throw
		};
		queue.add([selector, request, onDone, onError]);
		if(busy.not) { this.prRun };
	}

	prRun {
		var gen = generation;
		busy = true;
		Routine {
			var job;
			while { gen == generation and: { queue.notEmpty } } {
				job = queue.removeAt(0);
				try { this.perform(*job) } { |err|
					"TidalSort: internal error while loading: %".format(err.errorString).postln;
					if(gen == generation) {
						current !? { current[\buffers].do { |buf| buf.free } };
						current = nil;
						try { job[3].value(job[1], "internal error: " ++ err.errorString) };
					}
				};
			};
			if(gen == generation) { busy = false };
		}.play(SystemClock);
	}

	// runs inside the queue's Routine
	prLoad { |request, onDone, onError|
		var files = request[\files], bank = request[\bank];
		var buffers = Array.new, error, events, old, info, gen = generation;

		// 1. allocate buffer numbers and send one /b_allocRead per file, in order
		error = try {
			files.do { |file|
				var buf = Buffer.new(server, file[\numFrames], file[\numChannels]); // may throw: no bufnums left
				buffers = buffers.add(buf);
				buf.sampleRate = file[\sampleRate];
			};
			nil
		} { |err| err.errorString };
		current = (request: request, onError: onError, buffers: buffers);

		// 2. read and ask the server what it read
		if(error.isNil) {
			info = this.prReadAll(buffers, files, thisThread.seconds + loadTimeout, gen);
			if(gen != generation) { ^this }; // abandoned by Cmd-Period, which cleaned up
			if(info.isNil) {
				error = "the server did not answer within % s".format(loadTimeout)
			} {
				files.do { |file, i|
					if(error.isNil and: { info[i] != [buffers[i].bufnum, file[\numFrames], file[\numChannels]] }) {
						error = "the server could not read % (it has % frames x % channels)"
						.format(file[\name], info[i][1], info[i][2])
					}
				}
			}
		};

		// 3. build the events
		if(error.isNil) {
			error = try {
				events = buffers.collect { |buf|
					var event = soundLibrary.makeEventForBuffer(buf, nil);
					// buffers are fully read: never let a lazy library (doNotReadYet) read them again
					if(event[\notYetRead].notNil) { event[\notYetRead] = false };
					event
				};
				nil
			} { |err| "internal error: " ++ err.errorString };
		};

		current = nil;
		if(error.notNil) {
			buffers.do { |buf| buf.free };
			onError.value(request, error);
			^this
		};

		// 4. the swap: no yield between these lines
		old = soundLibrary.buffers[bank];
		soundLibrary.buffers[bank] = buffers;
		soundLibrary.bufferEvents[bank] = events;
		if(soundLibrary.respondsTo(\metaDataEvents) and: { soundLibrary.metaDataEvents.notNil }) {
			soundLibrary.metaDataEvents.removeAt(bank)
		};

		// 5. free the replaced buffers later
		if(old.notNil) { this.prFreeLater(old.asArray) };

		onDone.value(request, buffers.size);
	}

	// runs inside the queue's Routine
	prUnload { |request, onDone, onError|
		var bank = request[\bank], old = soundLibrary.buffers[bank], error;
		error = if(old.isNil) { "no sound named '%' is loaded".format(bank) } { request[\check].value(old) };
		if(error.notNil) { ^onError.value(request, error) };
		// no yield between these lines
		soundLibrary.buffers.removeAt(bank);
		soundLibrary.bufferEvents.removeAt(bank);
		if(soundLibrary.respondsTo(\metaDataEvents) and: { soundLibrary.metaDataEvents.notNil }) {
			soundLibrary.metaDataEvents.removeAt(bank)
		};
		this.prFreeLater(old.asArray);
		onDone.value(request, old.size);
	}

	// Reads every file, then reads again (up to maxRereads times) those the server shows
	// other than expected: a /b_allocRead lost with others in a burst, when the server's
	// socket was full (seen when it was busy for 0.3 s during a load of 1,100 files), reads
	// as 0 frames, like a file that cannot be read, which stays so. Returns what
	// prReadAndQuery returns for all of them.
	prReadAll { |buffers, files, deadline, gen|
		var info = this.prReadAndQuery(buffers, files.collect(_[\path]), deadline, gen), again, answers, tries = 0;
		var wrong = {
			files.selectIndices { |file, i| info[i] != [buffers[i].bufnum, file[\numFrames], file[\numChannels]] }
		};
		while { info.notNil and: { gen == generation } and: { tries < maxRereads } and: { (again = wrong.value).notEmpty } } {
			tries = tries + 1;
			answers = this.prReadAndQuery(buffers[again], files[again].collect(_[\path]), deadline, gen);
			if(answers.isNil) { info = nil } { again.do { |i, k| info[i] = answers[k] } };
		};
		^info
	}

	// Sends the reads; the last read of every chunk of queryChunk buffers carries a /b_query
	// of that chunk as completion message, which the server runs after all reads before it.
	// If an answer is missing after retryInterval (slow disk, a failed read, a lost packet),
	// waits for /sync and asks again. Returns [[bufnum, frames, channels], ...] or nil.
	prReadAndQuery { |buffers, paths, deadline, gen|
		var chunks = buffers.collect(_.bufnum).clump(queryChunk), answers, func, cond = CondVar(), complete;
		var firstIndex = IdentityDictionary.new;
		chunks.do { |chunk, k| firstIndex[chunk[0]] = k };
		answers = Array.newClear(chunks.size);
		complete = { answers.every(_.notNil) };
		func = OSCFunc({ |msg|
			var k = firstIndex[msg[1]];
			if(k.notNil and: { msg.size == (chunks[k].size * 4 + 1) }) {
				answers[k] = msg.drop(1).clump(4).collect { |x| x.keep(3) };
				cond.signalAll
			}
		}, '/b_info', server.addr);
		buffers.do { |buf, i|
			var completion = if(i % queryChunk == (queryChunk - 1) or: { i == (buffers.size - 1) }) {
				["/b_query"] ++ chunks[i div: queryChunk]
			};
			buf.allocRead(paths[i], 0, -1, completion);
		};
		cond.waitFor(retryInterval, complete);
		if(complete.value.not and: { gen == generation } and: { this.prSync(deadline, gen) }) {
			while { complete.value.not and: { gen == generation } and: { thisThread.seconds < deadline } } {
				chunks.do { |chunk, k| if(answers[k].isNil) { server.listSendMsg(["/b_query"] ++ chunk) } };
				cond.waitFor(min(retryInterval, max(0.001, deadline - thisThread.seconds)), complete);
			}
		};
		func.free;
		^if(complete.value) { answers.flatten(1) }
	}

	// /sync, resent every retryInterval until answered or the deadline passed
	prSync { |deadline, gen|
		var ids = Set.new, synced = false, cond = CondVar(), func, id;
		func = OSCFunc({ |msg| if(ids.includes(msg[1])) { synced = true; cond.signalAll } }, '/synced', server.addr);
		while { synced.not and: { gen == generation } and: { thisThread.seconds < deadline } } {
			id = UniqueID.next;
			ids.add(id);
			server.sendMsg("/sync", id);
			cond.waitFor(min(retryInterval, max(0.001, deadline - thisThread.seconds)), { synced });
		};
		func.free;
		^synced
	}

	prFreeLater { |oldBuffers|
		pendingOld.add(oldBuffers);
		pendingFree = pendingFree + oldBuffers.size;
		this.prScheduleFree(oldBuffers);
	}

	prScheduleFree { |entry|
		SystemClock.sched(graceDelay, { this.prFreeNow(entry); nil });
	}

	// frees one list of replaced buffers once, except buffers still listed under any bank
	prFreeNow { |entry|
		var index = pendingOld.indexOf(entry), inUse = IdentitySet.new;
		if(index.isNil) { ^this };
		pendingOld.removeAt(index);
		pendingFree = pendingFree - entry.size;
		soundLibrary.buffers.do { |list| list.asArray.do { |buf| buf !? { inUse.add(buf.bufnum) } } };
		entry.do { |buf|
			if(buf.notNil and: { inUse.includes(buf.bufnum).not }) { buf.free }
		};
	}
}
