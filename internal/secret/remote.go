package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smtpcheck/smtpcheck/internal/activity"
)

// HelperName is the program that reads vault: and keyring: references, and
// fetches OAuth tokens, for the plugins. It is installed in the same
// directory as they are.
const HelperName = "smtpcheck-secret"

// CloudHelperName is the program that smtpcheck-secret runs in turn for
// aws-sm: and azure-kv: references: the AWS and Azure SDKs double the
// helper's start-up (their package inits alone take 5 ms), which every
// keyring: and vault: read would pay if they were linked into it.
const CloudHelperName = "smtpcheck-secret-cloud"

// A Request asks a store for one vault: or keyring: reference, or for an
// OAuth access token.
type Request struct {
	Options  Options   `json:"options"`
	Scheme   string    `json:"scheme"`           // vault, keyring or oauth
	Path     string    `json:"path"`             // the reference after "scheme:"; oauth: the token URL
	Fields   []string  `json:"fields,omitempty"` // vault: the fields to return, in order
	OAuth    *OAuth    `json:"oauth,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
}

// OAuth is a client-credentials grant (RFC 6749 §4.4): the client id and
// secret are references, read by the store too, so the client secret never
// enters the plugin.
type OAuth struct {
	TokenURL        string `json:"token_url"`
	Scope           string `json:"scope,omitempty"`
	ClientIDRef     string `json:"client_id_ref"`
	ClientSecretRef string `json:"client_secret_ref"`
}

// FetchToken gets an access token with the grant g and returns it with a
// line for the transcript (endpoint, status, time). A failure at the
// endpoint is an *Error with Scheme "oauth"; one reading a reference names
// its flag and keeps its scheme.
func (o *Options) FetchToken(ctx context.Context, g OAuth) (token, note string, err error) {
	vals, err := o.call(ctx, Request{Options: *o, Scheme: "oauth", Path: g.TokenURL, OAuth: &g}, 2)
	if err != nil {
		return "", "", err
	}
	return vals[0], vals[1], nil
}

// A Store answers a Request with one value per field (one for keyring:).
type Store func(ctx context.Context, req Request) ([]string, error)

// store is what answers o's vault: and keyring: references and OAuth
// grants: o.Store, or else the helper beside the running program.
func (o *Options) store() Store {
	if o.Store != nil {
		return o.Store
	}
	return Helper("")
}

func (o *Options) remote(ctx context.Context, scheme, path string, fields ...string) ([]string, error) {
	return o.call(ctx, Request{Options: *o, Scheme: scheme, Path: path, Fields: fields}, max(1, len(fields)))
}

// call asks o's store and checks that it answered with want values, none of
// them with a control character (an OAuth grant's second value is a note).
func (o *Options) call(ctx context.Context, req Request, want int) ([]string, error) {
	vals, err := o.store()(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(vals) != want {
		return nil, Fail(req.Scheme, fmt.Sprintf("%s: the store returned %d values, want %d", req.Path, len(vals), want), nil)
	}
	for _, v := range vals {
		if err := checkValue(req.Scheme, req.Path, v); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

// wireError is an *Error on the pipe: what errors.Is needs survives.
type wireError struct {
	Scheme   string `json:"scheme"`
	Msg      string `json:"msg"`
	NotFound bool   `json:"not_found,omitempty"`
	Timeout  bool   `json:"timeout,omitempty"`
}

type response struct {
	Values []string   `json:"values,omitempty"`
	Error  *wireError `json:"error,omitempty"`
}

// helperMargin is how much earlier than the plugin the helper gives up.
const helperMargin = 50 * time.Millisecond

// maxResponse bounds what is read from the helper: a few secrets.
const maxResponse = 1 << 20

// Helper returns a Store that runs the helper program at path ("": the
// HelperName beside this executable) once per request: the request on its
// stdin, the answer on its stdout, killed at ctx's deadline.
func Helper(path string) Store {
	return func(ctx context.Context, req Request) ([]string, error) {
		where := req.Path
		bin, err := helperPath(path)
		if err != nil {
			return nil, Fail(req.Scheme, where+": "+err.Error(), nil)
		}
		if dl, ok := ctx.Deadline(); ok {
			// The helper stops a little early, so that its own message
			// (which request stalled) arrives before it is killed.
			if time.Until(dl) > 5*helperMargin {
				dl = dl.Add(-helperMargin)
			}
			req.Deadline = dl
		}
		in, err := json.Marshal(req)
		if err != nil {
			return nil, Fail(req.Scheme, where+": cannot encode the request for "+HelperName, err)
		}
		// An answer over the cap stops the helper at once (run's context).
		run, stop := context.WithCancel(ctx)
		defer stop()
		out := Capped{Max: maxResponse, Full: stop}
		stderr := Capped{Max: 4096}
		cmd := exec.CommandContext(run, bin)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &stderr
		// The helper leads its own process group, killed whole at the
		// deadline, grandchildren (pass, gpg) too, and after the helper
		// has exited, whatever it left behind in it. One that escapes the
		// group and holds the pipes still cannot hold the plugin.
		killRest := ownGroup(cmd)
		cmd.WaitDelay = 100 * time.Millisecond
		endRun := activity.Start(ctx, "running "+HelperName+" for a "+req.Scheme+": reference")
		runErr := cmd.Run()
		endRun()
		_ = killRest()
		if out.Over {
			return nil, Fail(req.Scheme, fmt.Sprintf("%s: %s answered with more than %d MiB (an answer is a few secrets): it is faulty or not smtpcheck's; reinstall smtpcheck", where, bin, maxResponse>>20), runErr)
		}
		var resp response
		if err := json.Unmarshal(out.Buf, &resp); err != nil || (resp.Error == nil && resp.Values == nil) {
			if err := ctx.Err(); err != nil {
				return nil, Fail(req.Scheme, where+": "+CtxMsg(ctx, err), err)
			}
			msg := fmt.Sprintf("%s: %s failed", where, bin)
			switch {
			case errors.Is(runErr, exec.ErrWaitDelay):
				msg += ": it exited without an answer, and a process it started kept its output open (now killed)"
			case runErr != nil:
				msg += ": " + runErr.Error() // "exit status 2", "signal: killed"
			}
			// A crash says why on stderr (a Go panic: its first line).
			if line, _, _ := strings.Cut(strings.TrimSpace(string(stderr.Buf)), "\n"); line != "" {
				msg += ": " + Quote(line)
			}
			return nil, Fail(req.Scheme, msg, errors.Join(runErr, err))
		}
		if e := resp.Error; e != nil {
			var cause error
			switch {
			case e.NotFound:
				cause = ErrNotFound
			case e.Timeout:
				cause = context.DeadlineExceeded
			}
			return nil, &Error{Scheme: e.Scheme, Msg: helperLine(e.Msg), Err: cause}
		}
		return resp.Values, nil
	}
}

// maxHelperMsg caps what is kept of a helper's message: it goes into the
// status line and JSON, and a helper that is faulty (or not ours) could
// send a megabyte.
const maxHelperMsg = 300

// helperLine is the first line of a helper's message, capped.
func helperLine(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	line = OneLine(line)
	if len(line) <= maxHelperMsg {
		return line
	}
	cut := maxHelperMsg
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut-- // not inside a character
	}
	return line[:cut] + "..."
}

// helperPath finds the helper beside the running program (symbolic links
// resolved, so a plugin linked into another directory still finds it).
func helperPath(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			return "", fmt.Errorf("cannot locate %s: %v", HelperName, err)
		}
		path = filepath.Join(filepath.Dir(exe), HelperName)
	}
	st, err := os.Stat(path)
	switch {
	case (err != nil || st.IsDir()) && filepath.Base(path) == CloudHelperName:
		return "", fmt.Errorf("%s, which reads aws-sm: and azure-kv: references, is not installed as %s (it belongs beside the plugins; reinstall smtpcheck)", CloudHelperName, path)
	case err != nil || st.IsDir():
		return "", fmt.Errorf("%s, which reads vault: and keyring: references and OAuth tokens, is not installed as %s (it belongs beside the plugins; reinstall smtpcheck, or use env: or file:)", HelperName, path)
	case st.Mode()&0o111 == 0:
		return "", fmt.Errorf("%s is not executable (mode %04o): run chmod 755 %s", path, st.Mode().Perm(), path)
	}
	// What is checked is what runs: the path with its links resolved.
	if path, err = filepath.EvalSymlinks(path); err != nil {
		return "", fmt.Errorf("cannot locate %s: %v", HelperName, err)
	}
	if err := trusted(path); err != nil {
		return "", err
	}
	return path, nil
}

// Serve is the helper's side: it reads one Request from in, answers it
// with read under the request's deadline, and writes the answer to out.
// read also answers the references the request names in turn (an OAuth
// grant's client id and secret): they are read in the helper too, never by
// running it again. The exit code is 0 when a value or a store's verdict
// was written.
func Serve(in io.Reader, out io.Writer, read Store) int {
	var req Request
	dec := json.NewDecoder(io.LimitReader(in, maxResponse))
	if err := dec.Decode(&req); err != nil {
		fmt.Fprintf(os.Stderr, "%s: want a request from a plugin on stdin (JSON): %v\n", HelperName, err)
		return 3
	}
	req.Options.Store = read
	ctx := context.Background()
	if !req.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, req.Deadline)
		defer cancel()
	}
	var resp response
	vals, err := read(ctx, req)
	if err != nil {
		var se *Error
		if !errors.As(err, &se) {
			se = Fail(req.Scheme, req.Path+": "+err.Error(), err)
		}
		resp.Error = &wireError{Scheme: se.Scheme, Msg: se.Msg, NotFound: errors.Is(err, ErrNotFound),
			Timeout: errors.Is(err, context.DeadlineExceeded)}
	} else {
		resp.Values = vals
	}
	if err := json.NewEncoder(out).Encode(resp); err != nil {
		fmt.Fprintf(os.Stderr, "%s: writing the answer: %v\n", HelperName, err)
		return 3
	}
	return 0
}

// A HelperProgram is the main of smtpcheck-secret and of
// smtpcheck-secret-cloud: one request served with Read when there are no
// arguments, as it is run; --help and --version answer a person (exit 0,
// as they ask for nothing a plugin would); anything else is refused with
// exit 3.
type HelperProgram struct {
	Name, Help, Version string
	Caller              string // who sends requests, for the refusal: "plugins send their"
	Read                Store
}

// Run runs it with the program's arguments and streams.
func (h HelperProgram) Run(args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) == 0 {
		return Serve(in, out, h.Read)
	}
	if len(args) == 1 {
		switch args[0] {
		case "-h", "--help":
			fmt.Fprint(out, h.Help)
			return 0
		case "-V", "--version":
			fmt.Fprintf(out, "%s %s\n", h.Name, h.Version)
			return 0
		}
	}
	fmt.Fprintf(errOut, "%s: unexpected argument %q: it takes none but --help or --version; %s request on stdin\n", h.Name, args[0], h.Caller)
	return 3
}

// errFull ends os/exec's copy of the helper's stdout at the cap.
var errFull = errors.New("helper output over the cap")

// Capped keeps the first Max bytes written to it: a child process's output
// (the helper's here, gpg's in the helper). It is no bytes.Buffer on
// purpose: os/exec copies with io.Copy, which would use a Buffer's ReadFrom
// and read without bound. With Full set (stdout), a write past Max calls
// it and fails, which ends the copy; without (stderr, of which only the
// first line is shown), the rest is dropped. Over says that it was cut.
type Capped struct {
	Buf  []byte
	Max  int
	Full func()
	Over bool
}

func (b *Capped) Write(p []byte) (int, error) {
	n := min(len(p), b.Max-len(b.Buf))
	b.Buf = append(b.Buf, p[:n]...)
	if n == len(p) {
		return n, nil
	}
	b.Over = true
	if b.Full == nil {
		return len(p), nil
	}
	b.Full()
	return n, errFull
}

// OwnGroup starts cmd in a session of its own, killed whole when cmd's
// context ends, and returns that kill for what is left after cmd exits
// (see ownGroup).
func OwnGroup(cmd *exec.Cmd) (kill func() error) { return ownGroup(cmd) }
