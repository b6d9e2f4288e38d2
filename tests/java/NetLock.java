// NETLOCK family driver for the official Java client: NETLOCK, NETLOCK_TRY,
// NETUNLOCK, NETMUTACQ_TRY, NETMUTREL. Args: host port pubkey-path hash dir.
// Prints one "name status code message" line per reply; tests/java/java_netlock.rs
// checks them and the disk. The client's netlockTryCommand sends no timeout
// (a client defect: the document's form is `NETLOCK_TRY <timeout> <path>`).
import dev.godjango.tfprotocol.Tfprotocol;
import dev.godjango.tfprotocol.callbacks.ITfprotocolCallback;
import dev.godjango.tfprotocol.misc.StatusInfo;
import java.nio.file.Files;
import java.nio.file.Paths;

public class NetLock {
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
            public void netlockCallback(StatusInfo s) { System.out.println(line("netlock", s)); }
            public void netlockTryCallback(StatusInfo s) { System.out.println(line("netlocktry", s)); }
            public void netunlockCallback(StatusInfo s) { System.out.println(line("netunlock", s)); }
            public void acquireMutexCallback(StatusInfo s) { System.out.println(line("mutacq", s)); }
            public void releaseMutexCallback(StatusInfo s) { System.out.println(line("mutrel", s)); }
        };
        Tfprotocol p = new Tfprotocol(a[0], Integer.parseInt(a[1]), key, a[3], 64, "2.4.1", cb);
        p.connect();
        p.netlockCommand(5, dir + "/f");
        p.netlockCommand(5, dir + "/g");
        p.netlockCommand(5, dir + "/missing");
        p.netlockTryCommand(dir + "/f");
        p.netunlockCommand(1);
        p.netunlockCommand(1);
        p.acquireMutexCommand(dir + "/m", "javatoken");
        System.out.println("disk " + new String(Files.readAllBytes(Paths.get(a[5]))));
        p.acquireMutexCommand(dir + "/m", "other");
        p.releaseMutexCommand(dir + "/m", "javatoken");
        p.echoCommand("alive");
        p.endCommand();
        System.exit(0);
    }
}
