// Smoke driver for the official Java client: handshake, ECHO, MKDIR, TOUCH, FSTAT.
// Args: host port pubkey-path hash dir. Prints one "name status code message" line
// per reply; tests/java/java_client.rs checks them and the disk.
import dev.godjango.tfprotocol.Tfprotocol;
import dev.godjango.tfprotocol.callbacks.ITfprotocolCallback;
import dev.godjango.tfprotocol.misc.FileStat;
import dev.godjango.tfprotocol.misc.StatusInfo;
import java.nio.file.Files;
import java.nio.file.Paths;

public class Smoke {
    static String line(String name, StatusInfo s) {
        return name + " " + s.getStatus() + " " + s.getCode() + " " + s.getMessage();
    }

    public static void main(String[] a) throws Exception {
        String key = new String(Files.readAllBytes(Paths.get(a[2])));
        String dir = a[4];
        ITfprotocolCallback cb = new ITfprotocolCallback() {
            public void responseServerCallback(StatusInfo s) { System.out.println(line("connect", s)); }
            public void statusServer(StatusInfo s) { System.out.println(line("handshake", s)); }
            public void instanceTfProtocol(Tfprotocol p) { System.out.println("connected"); }
            public void echoCallback(String v) { System.out.println("echo " + v); }
            public void mkdirCallback(StatusInfo s) { System.out.println(line("mkdir", s)); }
            public void touchCallback(StatusInfo s) { System.out.println(line("touch", s)); }
            public void fstatCallback(FileStat f, StatusInfo s) { System.out.println(line("fstat", s)); }
        };
        Tfprotocol p = new Tfprotocol(a[0], Integer.parseInt(a[1]), key, a[3], 64, "2.4.1", cb);
        p.connect();
        p.echoCommand("hello java");
        p.mkdirCommand(dir);
        p.touchCommand(dir + "/f.txt");
        p.fstatCommand(dir + "/f.txt");
        p.endCommand();
        System.exit(0);
    }
}
