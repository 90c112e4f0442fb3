// Package moto runs Nodewright's AWS calls against moto, an AWS emulator written
// independently of ours (moto_server, Python): where our simulator and our client share a
// misunderstanding of the API, moto disagrees. The tests are skipped, saying so once, where
// moto_server is not on the PATH.
package moto
