// Protocol 2.5.1 listing-family driver for the official Java client: RMKDIR,
// LSV2, LSRV2, LSV2DOWN, LSRV2DOWN, FTYPE, FTYPELS, FSTATLS, through the client's
// own *Command methods, and its XS1 presence probe. Args: host port pubkey-path
// hash proto dir. Prints one line per callback ("name status code message", newlines in messages as \n);
// tests/java/v251_java.rs checks them and the disk.
import dev.godjango.tfprotocol.Tfprotocol;
import dev.godjango.tfprotocol.callbacks.IExtendedSub1Callback;
import dev.godjango.tfprotocol.callbacks.ITfprotocolCallback;
import dev.godjango.tfprotocol.modules.ExtendedSub1;
import dev.godjango.tfprotocol.constants.TfprotocolConsts;
import dev.godjango.tfprotocol.misc.StatusInfo;
import java.nio.file.Files;
import java.nio.file.Paths;

public class V251Listing {
    static String line(String name, StatusInfo s) {
        String m = s.getMessage() == null ? "" : s.getMessage().replace("\n", "\\n");
        return name + " " + s.getStatus() + " " + s.getCode() + " " + m;
    }

    // public, so the client's reflective callback lookup (receiveUntil) may call it
    public static class Cb implements ITfprotocolCallback {
        public void responseServerCallback(StatusInfo s) { System.out.println(line("connect", s)); }
        public void statusServer(StatusInfo s) { System.out.println(line("handshake", s)); }
        public void instanceTfProtocol(Tfprotocol p) { System.out.println("connected"); }
        public void echoCallback(String v) { System.out.println("echo " + v); }
        public void rmkdirCallback(StatusInfo s) { System.out.println(line("rmkdir", s)); }
        public void lsv2Callback(StatusInfo s) { System.out.println(line("lsv2", s)); }
        public void lsrv2Callback(StatusInfo s) { System.out.println(line("lsrv2", s)); }
        public void lsv2DownCallback(StatusInfo s) { System.out.println(line("lsv2down", s)); }
        public void lsrv2DownCallback(StatusInfo s) { System.out.println(line("lsrv2down", s)); }
        public void fstypeCallback(TfprotocolConsts.FSTYPE v) { System.out.println("ftype " + v); }
        public void fstypelsCallback(TfprotocolConsts.FSTYPE v) { System.out.println("ftypels " + v); }
        public void fstatlsCommand(byte code, TfprotocolConsts.FSTYPE t, long size, long atime, long mtime) {
            System.out.println("fstatls " + code + " " + t + " " + size + " " + atime + " " + mtime);
        }
    }

    public static void main(String[] a) throws Exception {
        String key = new String(Files.readAllBytes(Paths.get(a[2])));
        String proto = a[4];
        String dir = a[5];
        Tfprotocol p = new Tfprotocol(a[0], Integer.parseInt(a[1]), key, a[3], 64, proto, new Cb());
        p.connect();
        p.rmkdirCommand(dir + "/made/deep/er");
        p.rmkdirCommand("../escape");
        p.lsv2Command(dir, dir + "/list.txt");
        p.lsrv2Command(dir, dir + "/rlist.txt");
        p.lsv2Command("missing", dir + "/never.txt");
        p.lsv2Command("..", dir + "/never.txt");
        System.out.println("-- lsv2down");
        p.lsv2DownCommand(dir + "/made");
        System.out.println("-- lsrv2down");
        p.lsrv2DownCommand(dir + "/made");
        System.out.println("-- lsv2down refused");
        p.lsv2DownCommand("..");
        System.out.println("-- ftype");
        p.ftypeCommand(dir);
        p.ftypeCommand(dir + "/f.txt");
        p.ftypeCommand(dir + "/missing");
        p.ftypeCommand("..");
        System.out.println("-- ftypels");
        p.ftypelsCommand(dir + "/paths.txt");
        System.out.println("-- fstatls");
        p.fstatlsCommand(dir + "/paths.txt");
        System.out.println("-- xs");
        // the client's own probe for the XS1 subsystem: one XS1_OPEN frame, one
        // reply; "present" unless the reply is UNKNOWN
        ExtendedSub1 xs1 = new ExtendedSub1(p, new IExtendedSub1Callback() {
            public void responseServerCallback(StatusInfo s) {}
            public void instanceTfProtocol(ExtendedSub1 x) {}
        });
        System.out.println("xs1 present " + xs1.checkPresent());
        System.out.println("-- end");
        p.echoCommand("still in step");
        p.endCommand();
        System.exit(0);
    }
}
