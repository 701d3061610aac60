//! Child processes that are always stopped: each service runs in its own
//! process group, and dropping its [`Service`] kills the whole group (wrangler
//! starts workerd children of its own), also when a test fails or panics.

use crate::{fail, Result};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Run a command to completion, streaming its output; fail on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = status(cmd)?;
    if status.success() {
        Ok(())
    } else {
        Err(fail!("`{}` failed ({status})", describe(cmd)))
    }
}

/// Run a command to completion and return its exit status.
pub fn status(cmd: &mut Command) -> Result<ExitStatus> {
    cmd.status()
        .map_err(|e| fail!("cannot start `{}`: {e}", describe(cmd)))
}

/// Run a command and capture its stdout (stderr passes through).
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail!("cannot start `{}`: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(fail!("`{}` failed ({})", describe(cmd), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A readable rendering of a command for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A long-running service whose process group dies with this value.
pub struct Service {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Service {
    /// Start `cmd` in a new process group; its stdout and stderr are copied to
    /// `log` (and, if `echo`, to our stderr) and offered line by line to
    /// [`Service::wait_for_line`].
    pub fn start(name: &str, cmd: &mut Command, log: &Path, echo: bool) -> Result<Service> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| fail!("cannot start {name} (`{}`): {e}", describe(cmd)))?;
        let (tx, rx) = mpsc::channel();
        let logf = std::sync::Arc::new(std::sync::Mutex::new(std::fs::File::create(log)?));
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        for stream in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err),
        ] {
            let tx = tx.clone();
            let logf = logf.clone();
            let tag = name.to_string();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    if let Ok(mut f) = logf.lock() {
                        use std::io::Write;
                        let _ = writeln!(f, "{line}");
                    }
                    if echo {
                        eprintln!("[{tag}] {line}");
                    }
                    let _ = tx.send(line);
                }
            });
        }
        Ok(Service {
            name: name.to_string(),
            child,
            lines: rx,
        })
    }

    /// Wait until the service prints a line for which `pick` returns a value.
    pub fn wait_for_line<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(fail!("{} exited early ({status})", self.name));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(fail!("{} did not become ready in {timeout:?}", self.name));
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) => {
                    if let Some(v) = pick(&line) {
                        return Ok(v);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// Fail if the process has already exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            Some(status) => Err(fail!("{} exited ({status})", self.name)),
            None => Ok(()),
        }
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        kill_group(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure its children are too.
                kill_group(self.child.id(), "KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        kill_group(self.child.id(), "KILL");
        let _ = self.child.wait();
    }
}

/// Send a signal to a whole process group.
pub fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
