{-# LANGUAGE OverloadedStrings #-}
-- | Integration probe for tests/test_haskell.py: a real Tidal stream that sends
-- /dirt/play to 127.0.0.1:DIRT_PORT and listens for /ctrl on 127.0.0.1:CTRL_PORT.
-- It stores static boundaries for bank "kb6" with tsStatic, starts a few patterns
-- that use the helpers (each with its own s name so the test can tell them apart),
-- prints READY and plays until stdin closes. The Python test sends the live
-- boundaries with /ctrl and checks the n values it captures.
--
-- Usage: live DIRT_PORT CTRL_PORT TEMPO_PORT
module Main (main) where

import Control.Exception (SomeException, try)
import System.Environment (getArgs)
import System.Exit (exitFailure)
import System.IO (BufferMode (LineBuffering), hPutStrLn, hSetBuffering, stderr, stdout)
import Sound.Tidal.Context
import Sound.Tidal.TidalSort

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  args <- getArgs
  case map read args of
    [dirtPort, ctrlPort, tempoPort] -> play dirtPort ctrlPort tempoPort
    _ -> hPutStrLn stderr "usage: live DIRT_PORT CTRL_PORT TEMPO_PORT" >> exitFailure

play :: Int -> Int -> Int -> IO ()
play dirtPort ctrlPort tempoPort = do
  tidal <- startTidal
    (superdirtTarget {oLatency = 0.05, oAddress = "127.0.0.1", oPort = dirtPort})
    (defaultConfig {cCtrlPort = ctrlPort, cTempoPort = tempoPort, cFrameTimespan = 1 / 20})
  -- static data, as `tsStatic tidal tidalsortBanks` does after loading tidalsort-banks.hs
  tsStatic tidal [("kb6", "0 2 4 6", "lo mid hat"), ("other", "0 3", "x"), ("fam", "0 3 6 10", "kick kick-2 snare")]
  streamOnce tidal (cps 1)
  let d i = streamReplace tidal (fromInteger i)
  d 1 $ s "tin*4" # n (tsIn "kb6" 1 "0 1 2 3")
  d 2 $ s "tlabel*4" # n (tsLabel "kb6" "hat" "0 1 2 3")
  d 3 $ s "trand*8" # n (tsRand "kb6" 2)
  d 4 $ n (tsDrift "kb6" 8) # s "tdrift"
  d 5 $ s "tpat*2" # n (tsPat "kb6" "hat:1 0:-1")
  d 6 $ s "tnone*2" # n (tsIn "nobank" 1 "0 1")
  d 7 $ n (tsSpread "kb6" 4) # s "tspread"
  d 8 $ s "tfam*4" # n (tsFam "fam" "kick" "0 1 2 3")
  d 9 $ n (tsFamPat "fam" "bd sd hh:1 oh") # s "tfampat"
  d 10 $ s "tfamrand*8" # n (tsFamRand "fam" "sd")
  d 11 $ s "tfamnone*4" # n (tsFam "fam" "cymbal" "0 1 2 3")
  d 12 $ n (tsFamDrift "fam" "kick" 8) # s "tfamdrift"
  putStrLn "READY"
  _ <- try getContents' :: IO (Either SomeException String)
  streamHush tidal
  putStrLn "DONE"
  where
    getContents' = do
      str <- getContents
      length str `seq` return str
