//! Every byte the command line prints goes through [`Console`]: a write that fails (a full
//! disk, a closed pipe) is remembered and turns the run's exit status into 2, where `println!`
//! would panic.

use std::io::{self, BufWriter, Stdout, Write};
use std::process::ExitCode;

pub struct Console {
    out: BufWriter<Stdout>,
    /// The first failed write, to stdout or stderr.
    failed: Option<io::Error>,
}

impl Console {
    pub fn new() -> Self {
        Console {
            out: BufWriter::new(io::stdout()),
            failed: None,
        }
    }

    /// Standard output (buffered).
    pub fn out(&mut self, text: &str) {
        if self.failed.is_none() {
            if let Err(e) = self.out.write_all(text.as_bytes()) {
                self.failed = Some(e);
            }
        }
    }

    /// One line on standard output.
    pub fn out_line(&mut self, line: &str) {
        self.out(line);
        self.out("\n");
    }

    /// One line on standard error (diagnostics, progress, the summary).
    pub fn err(&mut self, line: &str) {
        let mut err = io::stderr().lock();
        if let Err(e) = err
            .write_all(line.as_bytes())
            .and_then(|()| err.write_all(b"\n"))
        {
            self.failed.get_or_insert(e);
        }
    }

    /// Records a failed write (or an encoding error) made outside the console.
    pub fn failed(&mut self, error: io::Error) {
        self.failed.get_or_insert(error);
    }

    /// Whether output has failed: a long run stops producing findings nobody can read.
    pub fn is_broken(&self) -> bool {
        self.failed.is_some()
    }

    /// Flushes, and gives the exit status: `code`, or 2 when any output was lost. A closed
    /// pipe (`rolewarden ... | head`) ends quietly; any other failure is said on stderr if
    /// stderr still works.
    pub fn finish(mut self, code: ExitCode) -> ExitCode {
        if let Err(e) = self.out.flush() {
            self.failed.get_or_insert(e);
        }
        match self.failed {
            None => code,
            Some(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(2),
            Some(e) => {
                let _ = writeln!(io::stderr(), "rolewarden: error: cannot write output: {e}");
                ExitCode::from(2)
            }
        }
    }
}
